"""a04's test cells on answers beyond the catalogue (tests/test_catalogues.py runs the catalogue)."""
import numpy as np
import pytest

from catalogue_runs import reference, run_test_cell, with_source

ASSIGNMENT = "a04_knn_mlp_transfer"


def test_a_vote_tie_goes_to_the_smallest_label():
    namespace = reference(ASSIGNMENT)
    classifier = namespace["KNearestNeighbor"]()
    classifier.train(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([5, 2, 5, 2]))
    # k = 2 from 0.4: the neighbours are labelled 5 (nearer) and 2; the vote ties, 2 wins.
    assert classifier.predict(np.array([[0.4]]), k=2).tolist() == [2]


def test_distances_by_the_expansion_do_not_go_nan_on_identical_rows():
    namespace = reference(ASSIGNMENT)
    rows = np.random.default_rng(0).random((6, 50)) * 100 + 1000
    dists = namespace["compute_distances"](rows, rows, "l2")
    assert np.all(np.isfinite(dists)) and np.allclose(np.diag(dists), 0, atol=1e-3)


def test_a_loop_over_test_rows_is_accepted_when_the_values_are_right():
    namespace = with_source(reference(ASSIGNMENT),
                            "def compute_distances(X_test, X_train, metric='l2'):\n"
                            "    if metric not in ('l1', 'l2'):\n"
                            "        raise ValueError(metric)\n"
                            "    rows = []\n"
                            "    for x in X_test:\n"
                            "        d = np.abs(X_train - x)\n"
                            "        rows.append(d.sum(axis=1) if metric == 'l1' else np.sqrt((d ** 2).sum(axis=1)))\n"
                            "    return np.array(rows)\n")
    assert "hidden tests passed" in run_test_cell(ASSIGNMENT, "compute_distances", namespace)


def test_a_mlp_mistake_in_softmax_is_not_counted_again_in_the_mlp():
    namespace = with_source(reference(ASSIGNMENT),
                            "def softmax_cross_entropy(scores, y):\n    raise NotImplementedError()\n")
    with pytest.raises(AssertionError, match="softmax_cross_entropy: is not written yet"):
        run_test_cell(ASSIGNMENT, "softmax_cross_entropy", namespace)
    assert "MLP: hidden tests passed" in run_test_cell(ASSIGNMENT, "MLP", namespace)


def test_the_mlp_trained_by_fit_learns_separable_classes():
    namespace = reference(ASSIGNMENT)
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3), 30)
    X = rng.normal(scale=4.0, size=(3, 5))[y] + rng.normal(size=(90, 5))
    mlp = namespace["MLP"](n_hidden=10, epochs=30, eta=0.1, minibatch_size=16, seed=2).fit(X, y)
    assert np.mean(mlp.predict(X) == y) > 0.95
    assert mlp.loss_history[-1] < 0.5 * mlp.loss_history[0]
    again = namespace["MLP"](n_hidden=10, epochs=30, eta=0.1, minibatch_size=16, seed=2).fit(X, y)
    assert all(np.array_equal(mlp.params[n], again.params[n]) for n in mlp.params)


def test_a_transfer_model_built_as_a_nested_model_passes():
    namespace = with_source(reference(ASSIGNMENT),
                            "def transfer_model(trained, cut, nb_classes):\n"
                            "    base = keras.Model(trained.input, trained.get_layer(cut).output)\n"
                            "    base.trainable = False\n"
                            "    inputs = keras.Input(shape=trained.input_shape[1:])\n"
                            "    x = base(inputs, training=False)\n"
                            "    return keras.Model(inputs, layers.Dense(nb_classes, activation='softmax')(x))\n")
    assert "transfer_model: hidden tests passed" in run_test_cell(ASSIGNMENT, "transfer_model", namespace)


@pytest.mark.parametrize("head", ["layers.Activation('softmax')(layers.Dense(nb_classes)(base.output))",
                                  "layers.Softmax()(layers.Dense(nb_classes)(base.output))"])
def test_a_transfer_model_whose_softmax_is_a_layer_of_its_own_passes(head):
    """Dense(nb_classes) then an activation layer is the same network as Dense(..., activation="softmax")."""
    namespace = with_source(reference(ASSIGNMENT),
                            "def transfer_model(trained, cut, nb_classes):\n"
                            "    base = keras.Model(trained.input, trained.get_layer(cut).output)\n"
                            "    base.trainable = False\n"
                            f"    return keras.Model(base.input, {head})\n")
    assert "transfer_model: hidden tests passed" in run_test_cell(ASSIGNMENT, "transfer_model", namespace)
