"""Gradient checking: compare the gradients of a backward pass with centred differences.

For every parameter value theta_i the cost is evaluated at theta_i + eps and theta_i - eps,

    approx_i = (J(theta_i + eps) - J(theta_i - eps)) / (2 eps),

and the analytic gradient ``grad`` is compared with ``approx`` by the relative difference

    ||grad - approx|| / (||grad|| + ||approx||).

A correct backward pass gives about 1e-7 or less; a wrong one usually gives more than 1e-3.
Every parameter value costs two evaluations of J: check small networks only.
"""
import numpy as np

EPSILON = 1e-7
LOOKS_RIGHT = 2e-7
LOOKS_WRONG = 1e-3


def numerical_gradients(cost_of, parameters, epsilon=EPSILON):
    """{"dW1": ..., "db1": ..., ...}: centred differences of ``cost_of(parameters)``.

    ``parameters`` is a dict of float arrays such as ``{"W1": ..., "b1": ...}``; it is not changed.
    ``cost_of`` takes such a dict and returns the cost, a single number.
    """
    approx = {}
    for name, value in parameters.items():
        value = np.asarray(value, dtype=float)
        gradient = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            costs = []
            for step in (epsilon, -epsilon):
                shifted = value.copy()
                shifted[index] += step
                costs.append(float(cost_of({**parameters, name: shifted})))
            gradient[index] = (costs[0] - costs[1]) / (2 * epsilon)
        approx["d" + name] = gradient
    return approx


def relative_difference(gradients, approx, names):
    """||grad - approx|| / (||grad|| + ||approx||) over the gradients named ``names``."""
    grad = np.concatenate([np.ravel(np.asarray(gradients[n], dtype=float)) for n in names])
    other = np.concatenate([np.ravel(approx[n]) for n in names])
    denominator = np.linalg.norm(grad) + np.linalg.norm(other)
    if denominator == 0:
        return 0.0
    return float(np.linalg.norm(grad - other) / denominator)


def gradient_check(cost_of, parameters, gradients, epsilon=EPSILON):
    """Relative difference between ``gradients`` (keys ``"dW1"``, ``"db1"``, ...) and centred
    differences of ``cost_of(parameters)``; below 2e-7 the gradients look right.

    Raises ``KeyError`` naming the gradient that ``gradients`` lacks, or ``ValueError`` when a
    gradient's shape differs from its parameter's.
    """
    names = ["d" + name for name in parameters]
    missing = [n for n in names if n not in gradients]
    if missing:
        raise KeyError(f"the gradients have no {', '.join(missing)}: expected one per parameter")
    for name in parameters:
        got, wanted = np.shape(gradients["d" + name]), np.shape(parameters[name])
        if got != wanted:
            raise ValueError(f"d{name} has shape {got}, but {name} has shape {wanted}")
    approx = numerical_gradients(cost_of, parameters, epsilon)
    return relative_difference(gradients, approx, names)


def verdict(difference):
    """A short reading of a relative difference, for printing next to it."""
    if difference < LOOKS_RIGHT:
        return "the gradients look right"
    if difference < LOOKS_WRONG:
        return ("suspicious: look for a small error, such as a term missing from one gradient, or a ReLU "
                "input too close to 0 for the check")
    return "the gradients are wrong (a missing 1/m, a sign, a transposed product: check each gradient)"
