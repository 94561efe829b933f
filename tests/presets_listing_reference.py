"""Reference-environment side of ``test_registry.py`` (run it with ``.venv-ref``).

``presets_listing_reference.py NAME...``: prints, as JSON, the names KerasHub's
``keras_hub.models.NAME.presets`` lists, sorted, for each class name given (``null`` for a
class KerasHub lacks).

Only the standard library is imported at module level: the main suite's doctest
collection imports this file without KerasHub.
"""

import json
import os
import sys


def preset_names(class_names: list[str]) -> dict[str, list[str]]:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras_hub

    classes = {name: getattr(keras_hub.models, name, None) for name in class_names}
    return {
        name: None if klass is None else sorted(klass.presets) for name, klass in classes.items()
    }


if __name__ == "__main__":
    print(json.dumps(preset_names(sys.argv[1:])))
