"""Words, colours and names the synthetic world writes its items and queries with.

Each of the 16 *themes* is one coordinate of an item's textual latent; an item's
description is written with words drawn from its strongest themes, so a sentence encoder
can recover the textual latent from the text alone. Each of the 8 *visual styles* is one
coordinate of the visual latent; images are painted from them (see ``images.py``) and
visual queries describe them with the words below.
"""

from __future__ import annotations

THEMES: dict[str, tuple[str, ...]] = {
    "space": ("astronauts", "distant galaxies", "a spaceship", "alien planets", "orbit", "the stars", "a lunar base", "cosmic storms"),
    "romance": ("love", "a wedding", "first dates", "heartbreak", "a secret affair", "soulmates", "a kiss in the rain", "longing"),
    "crime": ("detectives", "a bank heist", "the mafia", "a murder case", "smugglers", "a corrupt cop", "a prison break", "forensics"),
    "history": ("ancient empires", "medieval kings", "the renaissance", "old castles", "a forgotten dynasty", "archaeology", "the victorian era", "pharaohs"),
    "family": ("parents and children", "siblings", "a family reunion", "grandparents", "raising kids", "a home", "childhood", "adoption"),
    "nature": ("forests", "wild animals", "mountains", "the ocean", "rivers", "wildflowers", "a national park", "migrating birds"),
    "technology": ("artificial intelligence", "robots", "computers", "smartphones", "software", "a startup", "hackers", "virtual reality"),
    "sports": ("football", "a championship", "marathon runners", "basketball", "an olympic athlete", "a coach", "training camp", "the final match"),
    "food": ("cooking", "a restaurant", "recipes", "baking bread", "street food", "a famous chef", "spices", "wine tasting"),
    "war": ("soldiers", "a battlefield", "the resistance", "army generals", "a siege", "veterans", "trenches", "an invasion"),
    "music": ("a rock band", "a concert tour", "songwriting", "an orchestra", "a guitar solo", "a singer", "a jazz club", "vinyl records"),
    "comedy": ("jokes", "a hilarious mix-up", "slapstick", "a stand-up comedian", "pranks", "a silly roommate", "awkward moments", "laughter"),
    "mystery": ("a puzzle", "hidden clues", "a haunted house", "secrets", "a disappearance", "an enigma", "a locked room", "a cryptic letter"),
    "travel": ("a road trip", "foreign cities", "backpacking", "an island getaway", "a train journey", "tourists", "a cruise", "exploring abroad"),
    "health": ("doctors", "a hospital", "fitness", "mental health", "nutrition", "a pandemic", "yoga", "recovery"),
    "money": ("the stock market", "bankers", "a fortune", "investing", "an economic crisis", "a billionaire", "taxes", "a business deal"),
}
THEME_NAMES: tuple[str, ...] = tuple(THEMES)

VISUAL_STYLES: dict[str, tuple[str, ...]] = {
    "red": ("warm red tones", "crimson colours", "a scarlet palette"),
    "blue": ("cool blue tones", "navy colours", "an azure palette"),
    "green": ("green tones", "emerald colours", "a leafy green palette"),
    "dark": ("a dark, black look", "shadowy dark colours", "a moody black palette"),
    "bright": ("bright yellow tones", "sunny golden colours", "a light pastel palette"),
    "round": ("round shapes", "circles and dots", "soft rounded forms"),
    "angular": ("square shapes", "boxy blocks", "sharp rectangles"),
    "striped": ("stripes", "striped patterns", "bold lines"),
}
VISUAL_STYLE_NAMES: tuple[str, ...] = tuple(VISUAL_STYLES)
COLOUR_STYLES: tuple[str, ...] = ("red", "blue", "green", "dark", "bright")
PALETTE_RGB: dict[str, tuple[int, int, int]] = {
    "red": (205, 40, 45),
    "blue": (40, 75, 200),
    "green": (45, 160, 70),
    "dark": (22, 22, 28),
    "bright": (250, 225, 110),
}

GENRES: dict[str, dict[str, tuple[str, ...]]] = {
    # genre -> the themes it favours
    "movie": {
        "action": ("war", "crime", "sports"),
        "comedy": ("comedy", "family", "romance"),
        "drama": ("family", "romance", "health"),
        "horror": ("mystery", "nature", "crime"),
        "science fiction": ("space", "technology", "war"),
        "documentary": ("history", "nature", "health"),
        "thriller": ("crime", "mystery", "money"),
        "animation": ("family", "comedy", "nature"),
    },
    "music": {
        "rock": ("music", "travel", "war"),
        "pop": ("music", "romance", "comedy"),
        "jazz": ("music", "food", "history"),
        "classical": ("music", "history", "nature"),
        "hip-hop": ("music", "money", "crime"),
        "electronic": ("music", "technology", "space"),
        "folk": ("music", "nature", "family"),
        "metal": ("music", "war", "mystery"),
    },
    "product": {
        "electronics": ("technology", "music", "space"),
        "home": ("family", "food", "health"),
        "fashion": ("travel", "romance", "money"),
        "sports gear": ("sports", "health", "nature"),
        "beauty": ("health", "romance", "nature"),
        "toys": ("family", "comedy", "space"),
        "books": ("history", "mystery", "crime"),
        "kitchen": ("food", "family", "health"),
    },
    "news": {
        "politics": ("war", "money", "history"),
        "business": ("money", "technology", "travel"),
        "science": ("space", "health", "technology"),
        "sport": ("sports", "health", "travel"),
        "culture": ("music", "history", "food"),
        "health": ("health", "food", "family"),
        "technology": ("technology", "money", "space"),
        "world": ("war", "travel", "history"),
    },
}

DOMAIN_NOUNS: dict[str, tuple[str, ...]] = {
    "movie": ("A film", "A movie", "A feature film"),
    "music": ("An album", "A record", "A song collection"),
    "product": ("A product", "An item", "A gadget"),
    "news": ("An article", "A news story", "A report"),
}
CREATOR_KIND: dict[str, str] = {"movie": "director", "music": "artist", "product": "brand", "news": "outlet"}

NAME_SYLLABLES: tuple[str, ...] = (
    "ka", "lo", "mi", "ra", "ten", "vo", "sa", "ri", "del", "mar", "no", "zu", "bel", "an", "tor",
    "li", "ve", "qua", "sol", "dan", "fe", "gor", "hal", "is", "jun", "kel", "mon", "pe", "rus", "ul",
)
TITLE_ADJECTIVES: tuple[str, ...] = (
    "Silent", "Golden", "Broken", "Hidden", "Last", "Endless", "Crimson", "Distant", "Wild", "Quiet",
    "Burning", "Lost", "Electric", "Frozen", "Secret", "Midnight", "Shattered", "Bright", "Hollow", "Iron",
)
TITLE_NOUNS: tuple[str, ...] = (
    "River", "Empire", "Signal", "Garden", "Harbor", "Machine", "Winter", "Crown", "Echo", "Frontier",
    "Mirror", "Voyage", "Circuit", "Shadow", "Orchard", "Summit", "Canvas", "Engine", "Lantern", "Tide",
)
REGIONS: tuple[str, ...] = ("north", "south", "east", "west", "central")
