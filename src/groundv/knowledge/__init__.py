"""The facts the offline teacher needs, kept as data files beside the code.

=================  ==========================  ===============================================
module             data file                   what it knows
=================  ==========================  ===============================================
``taxonomy``       ``data/taxonomy.json``      display names, plurals, synonyms, hypernym chains
                                               and the category vocabularies of each source
``affordance``     ``data/affordances.json``   what a thing is for ("something to sit on")
``colour``         ``data/colours.json``       basic colour terms from a region's pixels
``spatial``        (thresholds in code)        left of / above / next to, leftmost / largest,
                                               and what singles a region out of its group
=================  ==========================  ===============================================

Every data file is validated when first loaded; a mistake raises
:class:`~groundv.errors.ConfigError` naming the file and the key. The module-level functions use
the packaged files; ``load_*`` functions read another copy (``load_taxonomy(path)``).

Example:
    >>> display_name("car_(automobile)"), hypernyms("dog"), "knife" in categories_for("to cut with")
    ('car', ('pet', 'animal', 'living thing'), True)
"""

from groundv.knowledge.affordance import (
    Affordances,
    affordances,
    affords,
    all_affordances,
    categories_for,
    load_affordances,
)
from groundv.knowledge.colour import (
    BASIC_TERMS,
    ColourTable,
    colour_name,
    colour_shares,
    load_colours,
    name_rgb,
)
from groundv.knowledge.spatial import (
    PREDICATES,
    SUPERLATIVES,
    Distinction,
    Relation,
    Thresholds,
    distinctions,
    distinguish,
    extreme,
    group,
    nearest,
    relate,
    relations,
)
from groundv.knowledge.taxonomy import (
    Name,
    Node,
    Taxonomy,
    canonical,
    category_key,
    display_name,
    hypernyms,
    is_a,
    is_mass,
    load_taxonomy,
    part_names,
    plural,
    possessive_name,
    synonyms,
    vocabulary,
)

__all__ = [
    "BASIC_TERMS",
    "PREDICATES",
    "SUPERLATIVES",
    "Affordances",
    "ColourTable",
    "Distinction",
    "Name",
    "Node",
    "Relation",
    "Taxonomy",
    "Thresholds",
    "affordances",
    "affords",
    "all_affordances",
    "canonical",
    "categories_for",
    "category_key",
    "colour_name",
    "colour_shares",
    "display_name",
    "distinctions",
    "distinguish",
    "extreme",
    "group",
    "hypernyms",
    "is_a",
    "is_mass",
    "load_affordances",
    "load_colours",
    "load_taxonomy",
    "name_rgb",
    "nearest",
    "part_names",
    "plural",
    "possessive_name",
    "relate",
    "relations",
    "synonyms",
    "vocabulary",
]
