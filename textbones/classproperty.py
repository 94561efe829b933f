"""A read-only property evaluated on the class, for listings such as ``BertBackbone.presets``."""


class classproperty:  # noqa: N801 - reads like the builtin `property` it mirrors
    """Like ``property``, but computed from the class, so it works without an instance.

    Example:

    >>> class Shelf:
    ...     @classproperty
    ...     def label(cls):
    ...         return cls.__name__.lower()
    >>> Shelf.label
    'shelf'
    """

    def __init__(self, getter):
        self.getter = getter
        self.__doc__ = getter.__doc__

    def __get__(self, instance, owner):
        return self.getter(owner)
