import keras
import numpy as np
import pytest
import tensorflow as tf

from tutorial_lib import feature_shards, features, models, training


def _base():
    seeded = keras.initializers.GlorotUniform(1)
    return keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(5, 3, kernel_initializer=seeded),
                             keras.layers.Flatten()])


@pytest.fixture
def written(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (23, 4, 4, 3)).astype(np.float32)
    labels = np.arange(23) % 3
    batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
    base = _base()
    paths = feature_shards.write_feature_shards(base, batches, tmp_path, images_per_shard=10,
                                                preprocess=lambda x: 2 * x - 1)
    return base, images, labels, paths


def test_rows_match_the_base_and_the_labels(written):
    base, images, labels, paths = written
    assert [path.name for path in paths] == [f"shard-0000{i}.tfrecord" for i in range(3)]
    x, y = feature_shards.read_shards(paths)
    assert x.shape == (23, 2 * 2 * 5) and x.dtype == np.float32
    np.testing.assert_allclose(x, np.asarray(base(2 * images - 1)).reshape(23, -1), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y, labels)
    assert feature_shards.feature_size(paths[0]) == 20
    assert sum(1 for _ in tf.data.TFRecordDataset([str(p) for p in paths])) == 23


def test_shuffled_stream_holds_every_row_once_and_is_seeded(written):
    _, _, labels, paths = written
    x, _ = feature_shards.read_shards(paths)

    def rows(seed):
        batches = list(feature_shards.shard_dataset(paths, batch_size=8, shuffle_buffer=16,
                                                    seed=seed).as_numpy_iterator())
        assert [len(b[0]) for b in batches] == [8, 8, 7]
        return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])

    x0, y0 = rows(0)
    np.testing.assert_array_equal(x0, rows(0)[0])
    assert not np.array_equal(x0, x)  # shuffled
    order = np.lexsort(x0.T)
    np.testing.assert_allclose(x0[order], x[np.lexsort(x.T)])
    assert sorted(y0) == sorted(labels)


def test_streamed_head_learns_like_the_in_memory_head(tmp_path):
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 3, (3, 8))
    labels = np.arange(120) % 3
    vectors = (centres[labels] + rng.normal(0, 1, (120, 8))).astype(np.float32)
    identity = keras.Sequential([keras.Input((8,)), keras.layers.Identity()])
    batches = tf.data.Dataset.from_tensor_slices((vectors, labels)).batch(16)
    paths = feature_shards.write_feature_shards(identity, batches, tmp_path, images_per_shard=50)
    head = models.linear_head(8, 3, seed=0)
    before = [w.copy() for w in head.get_weights()]
    stream = feature_shards.shard_dataset(paths, batch_size=16, shuffle_buffer=64)
    streamed = feature_shards.train_head_on_stream(head, stream, epochs=15, learning_rate=1e-2)
    in_memory, _ = features.train_head(head, vectors, np.eye(3)[labels], epochs=15, batch_size=16,
                                       learning_rate=1e-2)
    for a, b in zip(before, head.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # the head passed in did not move
    chance = 1 / 3
    acc_stream = training.accuracy(streamed, vectors, labels)
    acc_memory = training.accuracy(in_memory, vectors, labels)
    assert acc_stream > chance + 0.4 and abs(acc_stream - acc_memory) < 0.05


def test_existing_shards_are_kept_unless_overwritten(written, tmp_path):
    base, images, labels, _ = written
    batches = [(images[:5], labels[:5])]
    with pytest.raises(FileExistsError, match="overwrite=True"):
        feature_shards.write_feature_shards(base, batches, tmp_path)
    paths = feature_shards.write_feature_shards(base, batches, tmp_path, overwrite=True)
    assert len(paths) == 1 and sorted(tmp_path.glob(feature_shards.SHARD_PATTERN)) == paths


def test_bad_inputs_are_refused(written, tmp_path):
    base, images, labels, paths = written
    with pytest.raises(TypeError, match="keras.Model"):
        feature_shards.write_feature_shards(lambda x: x, [(images, labels)], tmp_path / "a")
    with pytest.raises(TypeError, match="images_per_shard must be an int"):
        feature_shards.write_feature_shards(base, [(images, labels)], tmp_path / "b", images_per_shard=2.0)
    with pytest.raises(ValueError, match="images_per_shard must be at least 1"):
        feature_shards.write_feature_shards(base, [(images, labels)], tmp_path / "c", images_per_shard=0)
    with pytest.raises(ValueError, match="one integer label per image"):
        feature_shards.write_feature_shards(base, [(images, labels[:3])], tmp_path / "d")
    with pytest.raises(ValueError, match="no image"):
        feature_shards.write_feature_shards(base, [], tmp_path / "e")
    with pytest.raises(TypeError, match="list of shard files"):
        feature_shards.shard_dataset(paths[0])
    with pytest.raises(ValueError, match="at least one shard"):
        feature_shards.shard_dataset([])
    with pytest.raises(FileNotFoundError, match="missing.tfrecord"):
        feature_shards.read_shards([tmp_path / "missing.tfrecord"])
    with pytest.raises(ValueError, match="shuffle_buffer must be at least 0"):
        feature_shards.shard_dataset(paths, shuffle_buffer=-1)
    head = models.linear_head(7, 3)
    stream = feature_shards.shard_dataset(paths)
    with pytest.raises(ValueError, match="length 20, the head expects 7"):
        feature_shards.train_head_on_stream(head, stream, epochs=1)
    with pytest.raises(TypeError, match="tf.data.Dataset"):
        feature_shards.train_head_on_stream(head, [(1, 2)], epochs=1)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        feature_shards.train_head_on_stream(models.linear_head(20, 3), stream, epochs=1, learning_rate=0)


def test_normalised_head_standardises_with_the_stream_statistics(written):
    _, _, _, paths = written
    x, _ = feature_shards.read_shards(paths)
    head = feature_shards.normalised_head(feature_shards.shard_dataset(paths, batch_size=5), 3)
    z = np.asarray(head.layers[0](x))
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-3)
    assert head.output_shape == (None, 3) and head.layers[0].trainable_weights == []
    with pytest.raises(TypeError, match="tf.data.Dataset"):
        feature_shards.normalised_head(x, 3)
    with pytest.raises(ValueError, match="no rows"):
        feature_shards.normalised_head(feature_shards.shard_dataset(paths).take(0), 3)
