"""No public function changes a model it is given: weights and trainable flags stay as they were.

Every public function of ``tutorial_lib`` that takes a model must have a call below (the test
that lists them fails otherwise). The only functions that change their model are the ones whose
job it is, listed in ``CHANGES_ITS_MODEL``.
"""

import inspect
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tutorial_lib import (
    backbones,
    batchnorm,
    distillation,
    feature_shards,
    features,
    fine_tuning,
    forgetting,
    models,
    objectives,
    peft,
    pretrained,
    shift,
    training,
    transfer,
    vgg16_heads,
)

MODULES = (features, models, objectives, pretrained, training, transfer, vgg16_heads, shift, forgetting,
           distillation, peft, batchnorm, backbones, fine_tuning, feature_shards)
MODEL_TYPES = ("keras.Model", "keras.Sequential")

# Functions whose documented purpose is to change the model in place.
CHANGES_ITS_MODEL = {"models.freeze", "objectives.add_penalty", "training.train", "training.fit_in_steps",
                     "distillation.train_student", "fine_tuning.fit_with_early_stopping",
                     "fine_tuning.set_top_block_trainable"}


@pytest.fixture(scope="module")
def vgg_base():
    return pretrained.vgg16_base(None, (32, 32, 3), verbose=False)


def _calls(task, source, vgg_base):
    x, y = task.few_labels(2, seed=0)
    few = {"steps": 3}
    small = source.model
    conv = (np.zeros((4, 2, 2, 512), dtype=np.float32), np.array([0, 1, 0, 1]))
    return {
        "models.weight_layers": lambda: models.weight_layers(small),
        "models.with_new_head": lambda: models.with_new_head(small, 3),
        "models.feature_extractor": lambda: models.feature_extractor(small, "gap"),
        "objectives.gradient_norms": lambda: objectives.gradient_norms(small, x, y),
        "objectives.penalty_value": lambda: objectives.penalty_value(small),
        "objectives.losses_at": lambda: objectives.losses_at(small, [small.get_weights()], x, y),
        "objectives.fine_tune_with_penalty": lambda: objectives.fine_tune_with_penalty(
            small, x, y, 5, penalty="l2sp", **few),
        "objectives.compare_penalties": lambda: objectives.compare_penalties(task, small, 1, seeds=(0,),
                                                                             penalties=("l2sp",), **few),
        "features.layer_outputs": lambda: features.layer_outputs(vgg_base, ("block1_pool",)),
        "features.compute_features": lambda: features.compute_features(
            vgg_base, np.zeros((2, 32, 32, 3), dtype=np.float32)),
        "features.train_head": lambda: features.train_head(
            small, x, np.eye(small.output_shape[-1])[y % small.output_shape[-1]], epochs=1),
        "features.train_step": lambda: features.train_step(small, keras.optimizers.Adam()),
        "feature_shards.write_feature_shards": lambda: feature_shards.write_feature_shards(
            vgg_base, [(np.zeros((2, 32, 32, 3), dtype=np.float32), np.array([0, 1]))], tempfile.mkdtemp()),
        "feature_shards.train_head_on_stream": lambda: feature_shards.train_head_on_stream(
            small, tf.data.Dataset.from_tensor_slices((x, y % small.output_shape[-1])).batch(4), epochs=1),
        "vgg16_heads.on_top": lambda: vgg16_heads.on_top(
            vgg_base, vgg16_heads.gap_head(vgg_base.output_shape[1:])),
        "vgg16_heads.tail": lambda: vgg16_heads.tail(vgg_base, "block5_conv1"),
        "training.predict_proba": lambda: training.predict_proba(small, x),
        "training.accuracy": lambda: training.accuracy(small, x, y),
        "training.confusion_matrix": lambda: training.confusion_matrix(small, x, y),
        "training.check_inputs": lambda: training.check_inputs(small, x, y),
        "transfer.parameter_sharing": lambda: transfer.parameter_sharing(small, x, y, 5, **few),
        "transfer.feature_sharing": lambda: transfer.feature_sharing(small, x, y, 5, **few),
        "transfer.evaluate": lambda: transfer.evaluate(small, *task.target_test),
        "transfer.train_method": lambda: transfer.train_method("parameter sharing", small, x, y, 5, **few),
        "transfer.method_trainer": lambda: transfer.method_trainer("feature sharing", small, 5, **few)(
            x, y, 1e-2, 0),
        "transfer.compare_methods": lambda: transfer.compare_methods(task, small, [1], seeds=(0,), **few),
        "transfer.transfer_first_layers": lambda: transfer.transfer_first_layers(
            small, x, y, 5, 2, freeze=True, **few),
        "transfer.layer_transfer_curve": lambda: transfer.layer_transfer_curve(task, small, 1, seeds=(0,),
                                                                               **few),
        "fine_tuning.top_block_classifier": lambda: fine_tuning.top_block_classifier(
            vgg_base, 2, first_layer="block5_conv3"),
        "fine_tuning.two_phase": lambda: fine_tuning.two_phase(
            vgg_base, conv, conv, 2, first_layer="block5_conv3", epochs=1, steps_per_epoch=1),
        "fine_tuning.at_once": lambda: fine_tuning.at_once(
            vgg_base, conv, conv, 2, first_layer="block5_conv3", epochs=1, steps_per_epoch=1),
        "fine_tuning.augmented_classifier": lambda: fine_tuning.augmented_classifier(vgg_base, 2),
        "shift.split_at": lambda: shift.split_at(small, "gap"),
        "shift.coral_predict": lambda: shift.coral_predict(small, x, task.source_test.x[:20]),
        "forgetting.reattach_head": lambda: forgetting.reattach_head(models.with_new_head(small, 5), small),
        "forgetting.learning_without_forgetting": lambda: forgetting.learning_without_forgetting(
            small, x, y, 5, **few),
        "peft.parameter_count": lambda: peft.parameter_count(small, trainable_only=True),
        "peft.lora_model": lambda: peft.lora_model(small, 5, rank=2),
        "peft.fine_tune_lora": lambda: peft.fine_tune_lora(small, x, y, 5, rank=2, **few),
        "batchnorm.fine_tune": lambda: batchnorm.fine_tune(small, x, y, 5, bn_training=False, **few),
        "backbones.describe": lambda: backbones.describe("VGG16", vgg_base),
        "backbones.images_per_second": lambda: backbones.images_per_second(vgg_base, batch_size=1, batches=1),
    }


def _public_functions_taking_a_model():
    found = set()
    for module in MODULES:
        for name, function in vars(module).items():
            if (name.startswith("_") or not inspect.isfunction(function)
                    or function.__module__ != module.__name__):
                continue
            annotations = [str(p.annotation) for p in inspect.signature(function).parameters.values()]
            if any(kind in annotation for annotation in annotations for kind in MODEL_TYPES):
                found.add(f"{module.__name__.rsplit('.', 1)[1]}.{name}")
    return found


def test_every_public_function_taking_a_model_is_checked(task, source, vgg_base):
    listed = set(_calls(task, source, vgg_base)) | CHANGES_ITS_MODEL
    assert _public_functions_taking_a_model() <= listed, "add the new function to _calls"


def _state(model: keras.Model):
    return ([w.copy() for w in model.get_weights()],
            [layer.trainable for layer in model.layers], [w.regularizer for w in model.weights])


@pytest.mark.parametrize("name", sorted(_public_functions_taking_a_model() - CHANGES_ITS_MODEL))
def test_function_leaves_its_model_unchanged(name, task, source, vgg_base):
    models_given = (source.model, vgg_base)
    before = [_state(model) for model in models_given]
    _calls(task, source, vgg_base)[name]()
    for model, (weights, flags, penalties) in zip(models_given, before, strict=True):
        after_weights, after_flags, after_penalties = _state(model)
        assert after_flags == flags, f"{name} changed the trainable flags of {model.name}"
        assert after_penalties == penalties, f"{name} changed the penalties of {model.name}"
        for old, new in zip(weights, after_weights, strict=True):
            np.testing.assert_array_equal(old, new, err_msg=f"{name} changed {model.name}'s weights")
