"""The ``textbones`` command: pretrain, inspect, convert and use models from a shell.

Each subcommand lives in its own module and imports Keras only when it runs, so
``textbones --help`` answers at once.
"""
