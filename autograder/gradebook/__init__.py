"""The gradebook stage: outcomes merged into nbgrader's gradebook, one at a time.

- ``merge``: a worker's outcome recorded in the course gradebook, as nbgrader autograde would;
- ``records``: the course's gradebook URL, an assignment recorded in a gradebook, a student's score;
- ``template_cache``: the workers' template gradebook of an assignment, kept for each version of the course.
"""
