"""What a label is: the one label rule every command, the server and the page apply, and one spelling per label."""

import unicodedata

from ._validation import UNLABELED

#: Trimmed from both ends of a label: the characters with Unicode's White_Space property.
TRIMMED = ("\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
           + "\u2028\u2029\u202f\u205f\u3000")
#: The Unicode general categories a label may not hold, and how an error names them.
REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible format character (zero-width space or joiner, direction mark, byte order mark)",
    "Cs": "a lone surrogate (half of a character)",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}
#: The longest label, in characters (code points) after normalisation.
MAX_LABEL_LENGTH = 200


def clean_label(text):
    """A label as every command reads and writes it; ``""`` for no label.

    Parameters
    ----------
    text : str
        The label as typed or read from a file.

    Returns
    -------
    str
        ``text`` in NFC, with the :data:`TRIMMED` characters removed from
        both ends; ``""`` when nothing is left.

    Raises
    ------
    ValueError
        When the label is not text, holds a character of
        :data:`REFUSED_CATEGORIES`, is longer than :data:`MAX_LABEL_LENGTH`
        characters, or is ``-1``; the message says which and how to fix it.

    Examples
    --------
    >>> from skgmvae.labeling import clean_label
    >>> clean_label("  cafe\\u0301 ")
    'café'
    >>> clean_label("")
    ''
    """
    if not isinstance(text, str):
        raise ValueError(f"a label is text, got {type(text).__name__}.")
    label = unicodedata.normalize("NFC", text).strip(TRIMMED)
    for character in label:
        category = unicodedata.category(character)
        if category in REFUSED_CATEGORIES:
            raise ValueError(f"the label holds U+{ord(character):04X}, {REFUSED_CATEGORIES[category]}; "
                             "a label is one line of visible text.")
    if len(label) > MAX_LABEL_LENGTH:
        raise ValueError(f"the label is {len(label)} characters long; a label has at most {MAX_LABEL_LENGTH}.")
    if label == str(UNLABELED):
        raise ValueError(f"{label!r} marks unlabeled images in skgmvae; leave the label empty for an image "
                         "without one.")
    return label


def label_key(label):
    """What two spellings of one label share: the label upper-cased, then lower-cased, in NFC.

    Going through upper case makes "ß", "SS" and "ss" one label, as they are
    once capitalised; the page's script computes the same key with
    ``toUpperCase().toLowerCase()``.

    Examples
    --------
    >>> from skgmvae.labeling import label_key
    >>> label_key("Straße") == label_key("STRASSE")
    True
    """
    return unicodedata.normalize("NFC", label.upper().lower())


class LabelSpellings:
    """The spelling in use of each label, for a set of labels that changes: what keeps one spelling per label.

    Each label given to :meth:`add` is counted under its :func:`label_key`;
    :meth:`spelling` answers the spelling already in use for a key (the
    first one added, while any label of that key is counted), or the label
    itself.

    Parameters
    ----------
    labels : iterable of str, optional
        Labels in use from the start ("" ignored).
    """

    def __init__(self, labels=()):
        self._spelling, self._count = {}, {}
        for label in labels:
            self.add(label)

    def spelling(self, label):
        """The spelling of ``label``'s key in use, or ``label`` when none is."""
        return self._spelling.get(label_key(label), label) if label else label

    def add(self, label):
        """Count ``label`` (in the spelling :meth:`spelling` gives)."""
        if label:
            key = label_key(label)
            self._spelling.setdefault(key, label)
            self._count[key] = self._count.get(key, 0) + 1

    def remove(self, label):
        """Stop counting one use of ``label``; its spelling is forgotten with its last use."""
        if label:
            key = label_key(label)
            self._count[key] -= 1
            if not self._count[key]:
                del self._count[key], self._spelling[key]


def rule_config():
    """The label rule's constants as the page's script reads them (the script holds the same steps)."""
    return {"trimmed": TRIMMED, "refused": dict(REFUSED_CATEGORIES), "maxLength": MAX_LABEL_LENGTH,
            "unlabeled": str(UNLABELED)}
