"""The last module the workers' fork server imports: what it holds by then (nbgrader, nbconvert,
SQLAlchemy, NumPy, Keras where wanted, and what ``warm.py`` compiled) is put out of the cyclic
garbage collector's sight (``gc.freeze``). Each nbgrader process forked from the server then
collects only what it makes itself: its full collections no longer walk the hundreds of
thousands of objects it inherited (measured: half the grading process's CPU in a test cell of
a02 that makes thousands of calls), nor write to their pages, which the fork shares.

Those objects are never collected in the forked processes; they are the server's imports, which
live as long as the process anyway.
"""
import gc

gc.freeze()
