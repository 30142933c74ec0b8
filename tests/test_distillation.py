import numpy as np
import pytest

from tutorial_lib import distillation, models, training


def test_soften_flattens_and_keeps_the_order():
    p = np.array([[0.7, 0.2, 0.1], [0.05, 0.9, 0.05]])
    np.testing.assert_allclose(distillation.soften(p, 1.0), p, atol=1e-6)
    soft = distillation.soften(p, 4.0)
    np.testing.assert_allclose(soft.sum(axis=1), 1, atol=1e-6)
    assert (soft.max(axis=1) < p.max(axis=1)).all()
    assert (soft.argmax(axis=1) == p.argmax(axis=1)).all()


@pytest.mark.parametrize("probabilities, temperature", [(np.ones(3) / 3, 1.0), (np.ones((2, 3)) / 3, 0.0),
                                                        (np.ones((2, 3)) / 3, -2.0)])
def test_soften_rejects_bad_inputs(probabilities, temperature):
    with pytest.raises(ValueError):
        distillation.soften(probabilities, temperature)


def test_loss_with_alpha_one_is_cross_entropy():
    p = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3]], dtype=np.float32)
    y = np.array([0, 2])
    packed = distillation.pack_targets(y, p, 2.0)
    loss = np.asarray(distillation.distillation_loss(2.0, 1.0)(packed, p))
    np.testing.assert_allclose(loss, -np.log(p[np.arange(2), y]), rtol=1e-5)
    soft_only = np.asarray(distillation.distillation_loss(2.0, 0.0)(packed, p))
    soft = distillation.soften(p, 2.0)
    np.testing.assert_allclose(soft_only, -4 * (soft * np.log(soft)).sum(axis=1), rtol=1e-4)


@pytest.mark.parametrize("temperature, alpha", [(0.0, 0.5), (1.0, -0.1), (1.0, 1.5)])
def test_loss_rejects_bad_arguments(temperature, alpha):
    with pytest.raises(ValueError):
        distillation.distillation_loss(temperature, alpha)


def test_pack_targets_rejects_out_of_range_labels():
    with pytest.raises(ValueError, match="out of range"):
        distillation.pack_targets(np.array([0, 3]), np.ones((2, 3)) / 3, 1.0)
    with pytest.raises(ValueError):
        distillation.pack_targets(np.array([0]), np.ones((2, 3)) / 3, 1.0)


def test_train_student_learns_from_soft_targets(tiny_images):
    x, y = tiny_images
    teacher = np.eye(2, dtype=np.float32)[y] * 0.8 + 0.1
    student = models.small_cnn(2, filters=(4, 8, 8), dense_units=8, seed=0)
    distillation.train_student(student, x, y, teacher, temperature=2.0, alpha=0.5, steps=40,
                               learning_rate=1e-2)
    assert training.accuracy(student, x, y) > 0.8
    with pytest.raises(ValueError, match="teacher_probabilities"):
        distillation.train_student(student, x, y, teacher[:5], steps=1)
