"""The gate stage: what a student hands in, checked before anything reads it.

- ``files``: only regular files and folders, nothing followed, copied as bytes under limits; also
  installed in plain ``nbgrader autograde`` by the course's ``nbgrader_config.py``;
- ``submissions``: the submissions of a class, each with the reason it cannot be graded, if any;
- ``collect``: ``nbgrader collect`` through the gate, taking from the exchange only the folders
  their owners named after themselves, copied by ``files``, at times their files confirm;
- ``release_feedback``: ``nbgrader release_feedback`` releasing every page it can, naming the rest;
- ``archives``: ``nbgrader zip_collect`` unpacking a learning platform's download by the same rules.
"""
