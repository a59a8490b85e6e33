#!/usr/bin/env python3
"""Procedural children's-story generator (TinyStories-like English).

A small hand-written grammar: characters (name, species, traits, pronouns),
places (with hiding spots and weather that fits them), objects (with colours,
articles and what you do with them), goals, problems, helpers, dialogue,
feelings and morals, arranged by one of several story templates.

Deterministic: the same --seed and --stories always give the same bytes
(pure stdlib, random.Random only, no dict-order or hash dependence).

    python3 tools/corpus/story_grammar.py --seed 1 --stories 1000 > stories.txt

Stories are separated by one blank line; a story never contains a blank line
(paragraphs inside a story are separated by a single newline).
"""

import argparse
import random
import sys

# --------------------------------------------------------------------------
# English helpers
# --------------------------------------------------------------------------

_AN_EXCEPTIONS = ("hour", "honest", "honor", "heir")
_A_EXCEPTIONS = ("one", "once", "uni", "use", "usu", "ukulele", "eu", "ewe")


def article(phrase):
    """'a' or 'an' for the phrase that follows it."""
    w = phrase.split()[0].lower()
    if w.startswith(_AN_EXCEPTIONS):
        return "an"
    if w.startswith(_A_EXCEPTIONS) and not w.startswith("unin"):
        return "a"
    return "an" if w[0] in "aeiou" else "a"


def a(phrase):
    return article(phrase) + " " + phrase


def cap(s):
    return s[:1].upper() + s[1:] if s else s


def join_and(items):
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return items[0] + " and " + items[1]
    return ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------

GIRL_NAMES = [
    "Lily", "Mia", "Sue", "Anna", "Lucy", "Zoe", "Ella", "Amy", "Sara", "Rosie",
    "Kate", "Molly", "Emma", "Ruby", "Daisy", "Jane", "Nora", "Ivy", "Grace",
    "Hannah", "Olive", "Maya", "Tina", "Bella", "Alice", "Emily", "Sophie",
    "Chloe", "Lola", "Jenny",
]
BOY_NAMES = [
    "Tom", "Ben", "Max", "Tim", "Sam", "Jack", "Leo", "Joe", "Finn", "Noah",
    "Jake", "Luke", "Owen", "Danny", "Billy", "Eli", "Adam", "Oscar", "Henry",
    "Alex", "Ryan", "Peter", "Timmy", "Bobby", "Jimmy", "Lucas", "Mark", "Ollie",
]
PET_NAMES = [
    "Spot", "Whiskers", "Fluffy", "Pip", "Coco", "Bubbles", "Buddy", "Rusty",
    "Snowy", "Patch", "Benny", "Hoppy", "Sunny", "Polly", "Tiny", "Ziggy",
    "Pebble", "Muffin", "Biscuit", "Nutty", "Rocky", "Dot", "Bongo", "Peanut",
    "Button", "Honey", "Mittens", "Shadow", "Twinkle", "Puff",
]

# species: (noun, home phrase, sound verb or None, allowed adjectives)
SPECIES = {
    "cat": ("cat", "in a warm house with a red door", "purred"),
    "kitten": ("kitten", "in a cozy house at the end of the street", "meowed"),
    "dog": ("dog", "in a little house with a big yard", "barked"),
    "puppy": ("puppy", "in a small house near the park", "barked"),
    "bunny": ("bunny", "in a cozy hole under a big tree", None),
    "bear": ("bear", "in a big cave in the forest", "growled"),
    "fox": ("fox", "in a den at the edge of the woods", None),
    "owl": ("owl", "in a hole high up in an old oak tree", "hooted"),
    "mouse": ("mouse", "in a tiny hole under the stairs", "squeaked"),
    "duck": ("duck", "near a quiet pond", "quacked"),
    "frog": ("frog", "on a big green leaf in the pond", "croaked"),
    "bird": ("bird", "in a nest at the top of a tall tree", "chirped"),
    "elephant": ("elephant", "near a river in the jungle", None),
    "turtle": ("turtle", "by a sunny pond", None),
    "squirrel": ("squirrel", "in a tall tree in the park", None),
    "pig": ("pig", "on a big farm", "oinked"),
    "lamb": ("lamb", "on a green farm on a hill", None),
    "monkey": ("monkey", "high in the trees of the jungle", None),
    "hedgehog": ("hedgehog", "under a pile of leaves in the garden", None),
    "dragon": ("dragon", "in a cave on top of a mountain", None),
    "robot": ("robot", "in a busy workshop in the town", "beeped"),
}
SPECIES_KEYS = sorted(SPECIES)

KID_HOMES = [
    "in a small house near the woods",
    "in a yellow house with a big garden",
    "in a little town by the sea",
    "in a busy city with tall buildings",
    "on a farm with many animals",
    "in a cozy house on a hill",
    "in a blue house next to the park",
]

SIZE_ADJ = ["little", "small", "tiny", "big", "young"]
TRAITS = [
    "kind", "brave", "shy", "curious", "happy", "playful", "clever", "friendly",
    "careful", "silly", "cheerful", "gentle", "busy", "helpful", "funny",
    "smart", "quiet", "lively", "eager", "honest", "adventurous", "energetic",
]
COAT = {
    "cat": ["orange", "black", "white", "gray", "fluffy"],
    "kitten": ["orange", "black", "white", "gray", "fluffy"],
    "dog": ["brown", "black", "spotted", "fluffy", "white"],
    "puppy": ["brown", "spotted", "fluffy", "golden"],
    "bunny": ["white", "gray", "brown", "fluffy"],
    "bear": ["brown", "black", "fuzzy"],
    "fox": ["red", "orange"],
    "owl": ["gray", "brown", "wise", "old"],
    "mouse": ["gray", "brown", "white"],
    "duck": ["yellow", "white"],
    "frog": ["green", "spotted"],
    "bird": ["blue", "red", "yellow", "colorful"],
    "elephant": ["gray", "big"],
    "turtle": ["green", "old", "slow"],
    "squirrel": ["red", "brown", "gray"],
    "pig": ["pink", "muddy"],
    "lamb": ["white", "woolly"],
    "monkey": ["brown", "cheeky"],
    "hedgehog": ["prickly", "brown"],
    "dragon": ["green", "purple", "red"],
    "robot": ["shiny", "silver", "old"],
}

HOBBIES = [
    "play outside", "sing songs", "run and jump", "draw pictures", "explore",
    "look at the clouds", "read books", "dance", "build things", "help others",
    "splash in puddles", "count the stars", "play games with friends",
    "pick flowers", "climb trees", "tell jokes", "paint with bright colors",
    "listen to stories", "ride a bike", "play hide and seek",
]

# objects: (noun, plural?, colourable?, play verb phrase, adjective pool)
OBJECTS = [
    ("ball", False, True, "kick", ["bouncy", "round", "soft"]),
    ("kite", False, True, "fly", ["long-tailed", "bright", "paper"]),
    ("teddy bear", False, False, "hug", ["soft", "fluffy", "old"]),
    ("toy car", False, True, "race", ["fast", "shiny", "little"]),
    ("doll", False, False, "dress up", ["pretty", "little", "old"]),
    ("book", False, True, "read", ["big", "old", "funny"]),
    ("hat", False, True, "wear", ["big", "funny", "warm"]),
    ("scarf", False, True, "wear", ["long", "warm", "soft"]),
    ("balloon", False, True, "hold", ["big", "round", "shiny"]),
    ("shell", False, False, "hold up to the light", ["pretty", "shiny", "tiny"]),
    ("drum", False, True, "play", ["little", "loud", "old"]),
    ("toy boat", False, True, "sail", ["little", "wooden", "fast"]),
    ("bucket", False, True, "fill with sand", ["little", "plastic", "big"]),
    ("blanket", False, True, "wrap up in", ["soft", "warm", "old"]),
    ("toy robot", False, False, "play with", ["shiny", "little", "funny"]),
    ("marble", False, True, "roll", ["shiny", "glass", "tiny"]),
    ("crayons", True, False, "draw with", ["bright", "new", "colorful"]),
    ("umbrella", False, True, "open", ["big", "little", "old"]),
    ("necklace", False, False, "wear", ["pretty", "shiny", "long"]),
    ("whistle", False, True, "blow", ["little", "loud", "shiny"]),
    ("puzzle", False, False, "put together", ["big", "new", "hard"]),
    ("yo-yo", False, True, "play with", ["fast", "shiny", "little"]),
    ("toy train", False, True, "push along the floor", ["long", "wooden", "old"]),
    ("blocks", True, True, "stack", ["wooden", "big", "colorful"]),
    ("jump rope", False, True, "jump with", ["long", "new", "old"]),
    ("flute", False, False, "play", ["little", "silver", "wooden"]),
    ("star sticker", False, False, "look at", ["shiny", "gold", "sparkly"]),
    ("backpack", False, True, "carry", ["little", "new", "old"]),
    ("acorn", False, False, "hold", ["big", "shiny", "brown"]),
    ("feather", False, True, "twirl", ["long", "soft", "pretty"]),
]
COLORS = ["red", "blue", "green", "yellow", "pink", "purple", "orange", "white",
          "brown", "black", "gold", "silver"]

# places: name, weathers that fit, hiding spots, features, indoor?
PLACES = [
    ("park", ["sunny", "windy", "cloudy", "snowy"],
     ["under the slide", "behind a big tree", "in the tall grass", "near the bench", "under a pile of leaves"],
     ["a big slide", "green grass", "a pond with ducks", "tall trees", "swings"], False),
    ("forest", ["sunny", "cloudy", "windy", "rainy"],
     ["under a log", "behind a bush", "near a big rock", "in a pile of leaves", "under a mushroom"],
     ["tall trees", "soft moss", "little mushrooms", "a small stream", "singing birds"], False),
    ("beach", ["sunny", "windy", "cloudy"],
     ["in the sand", "behind a rock", "near the water", "under a beach chair", "next to a sand castle"],
     ["soft sand", "blue waves", "pretty shells", "a big rock", "seagulls"], False),
    ("garden", ["sunny", "cloudy", "rainy"],
     ["under a bush", "behind the flowers", "next to a big pot", "in the vegetable patch", "under a watering can"],
     ["red roses", "tall sunflowers", "busy bees", "a little fountain", "green vegetables"], False),
    ("farm", ["sunny", "cloudy", "windy"],
     ["in the hay", "behind the barn", "near the fence", "under the tractor", "next to the water trough"],
     ["a big red barn", "cows and sheep", "a tall haystack", "a muddy pond", "a noisy rooster"], False),
    ("meadow", ["sunny", "windy", "cloudy"],
     ["in the tall grass", "near the flowers", "under a small tree", "behind a hill", "next to a rock"],
     ["wild flowers", "soft grass", "butterflies", "a little hill", "a wooden fence"], False),
    ("pond", ["sunny", "cloudy", "rainy"],
     ["in the reeds", "under a lily pad", "near a flat stone", "behind a log", "by the muddy bank"],
     ["lily pads", "green frogs", "little fish", "tall reeds", "a wooden bridge"], False),
    ("playground", ["sunny", "cloudy", "windy"],
     ["under the slide", "in the sandbox", "behind the swings", "near the seesaw", "under a bench"],
     ["a red slide", "swings", "a sandbox", "a seesaw", "a climbing frame"], False),
    ("backyard", ["sunny", "rainy", "snowy", "windy"],
     ["under the porch", "behind the shed", "in the flower bed", "near the fence", "under a bush"],
     ["a tall tree", "a wooden swing", "a little shed", "a flower bed", "a bird feeder"], False),
    ("hill", ["sunny", "windy", "snowy", "cloudy"],
     ["behind a big stone", "in the long grass", "under a bush", "near the old tree", "by the path"],
     ["a long path", "an old tree", "a great view", "soft grass", "big stones"], False),
    ("library", ["rainy", "snowy", "cloudy"],
     ["under a table", "behind a shelf", "in a basket", "next to a big chair", "under a pile of books"],
     ["tall shelves", "many books", "soft chairs", "a big window", "a quiet corner"], True),
    ("kitchen", ["rainy", "snowy", "cloudy", "sunny"],
     ["under the table", "behind the chair", "in a basket", "next to the oven", "under a towel"],
     ["a big table", "a warm oven", "a bowl of fruit", "a jar of cookies", "a little window"], True),
    ("living room", ["rainy", "snowy", "cloudy"],
     ["under the sofa", "behind a pillow", "in the toy box", "under the rug", "behind the curtain"],
     ["a soft sofa", "a warm fire", "a big rug", "a toy box", "a tall lamp"], True),
    ("school", ["sunny", "rainy", "cloudy"],
     ["under a desk", "in the coat room", "behind the door", "next to the bookshelf", "in a lunch box"],
     ["small desks", "a big board", "colorful pictures", "a fish tank", "a reading corner"], True),
]

WEATHER = {
    "sunny": ["The sun was bright and warm.", "It was a sunny day.",
              "The sky was blue and the birds were singing.",
              "The sun was shining and there was not a cloud in the sky.",
              "It was a warm day in the middle of summer."],
    "rainy": ["It was a rainy day.", "Rain fell softly from the sky.",
              "Outside, the rain went pitter-patter.",
              "Big gray clouds brought lots of rain that day.",
              "It rained and rained all morning."],
    "windy": ["The wind was blowing hard.", "It was a windy day.",
              "The wind made the leaves dance in the air.",
              "A strong wind was blowing across the land.",
              "The trees swayed in the wind."],
    "snowy": ["Snow covered the ground like a white blanket.", "It was a cold and snowy day.",
              "Soft white snow was falling from the sky.",
              "It was winter, and everything was white with snow."],
    "cloudy": ["Gray clouds filled the sky.", "It was a cool and cloudy day.",
               "The sky was gray, but it did not rain.",
               "Fluffy clouds floated across the sky."],
}

FEELINGS_GOOD = ["happy", "proud", "excited", "glad", "joyful", "thankful"]
FEELINGS_BAD = ["sad", "upset", "worried", "scared", "lonely", "grumpy", "angry"]

SAY = ["said"]
REPLY = ["said", "said", "replied", "answered"]
EXCLAIM = ["said", "said", "shouted", "exclaimed"]
SAD = ["cried", "said sadly", "sobbed"]
ASK = ["asked"]
QUIET = ["whispered", "said softly", "said quietly"]


# --------------------------------------------------------------------------
# Characters and things
# --------------------------------------------------------------------------

class Char:
    """A character or a group; gives names, pronouns and verb agreement."""

    def __init__(self, name, pron, desc, kind, home=None, the=None, sound=None):
        self.name = name
        self.Name = cap(name)
        self.kind = kind
        self.desc = desc
        self.Desc = cap(desc)
        self.home = home or ""
        self.the = the or name
        self.sound = sound
        self.plural = pron == "they"
        self.first = name          # how the story first mentions a side character
        self.First = cap(name)
        if pron == "he":
            p = ("he", "him", "his", "himself")
        elif pron == "she":
            p = ("she", "her", "her", "herself")
        else:
            p = ("they", "them", "their", "themselves")
        self.he, self.him, self.his, self.himself = p
        self.He, self.Him, self.His = cap(p[0]), cap(p[1]), cap(p[2])
        self.was = "were" if self.plural else "was"
        self.has = "have" if self.plural else "has"
        self.is_ = "are" if self.plural else "is"
        self.does = "do" if self.plural else "does"
        self.s = "" if self.plural else "s"     # present tense verb ending
        self.es = "" if self.plural else "es"


class Thing:
    def __init__(self, rng):
        noun, plural, colour, verb, adjs = rng.choice(OBJECTS)
        r = rng.random()
        if colour and r < 0.5:
            adj = rng.choice(COLORS)
        elif r < 0.85:
            adj = rng.choice(adjs)
        else:
            adj = ""
        self.noun = noun
        self.full = (adj + " " + noun) if adj else noun
        self.plural = plural
        self.verb = verb
        self.a = ("some " + self.full) if plural else a(self.full)
        self.the = "the " + noun
        self.The = "The " + noun
        self.the_full = "the " + self.full
        self.it = "them" if plural else "it"
        self.It = cap("they" if plural else "it")
        self.it_sub = "they" if plural else "it"
        self.was = "were" if plural else "was"
        self.is_ = "are" if plural else "is"
        self.its = "their" if plural else "its"


class Place:
    def __init__(self, rng, need_outdoor=False, weather=None):
        cands = [p for p in PLACES if not (need_outdoor and p[4])]
        if weather is not None:
            cands = [p for p in cands if weather in p[1]] or cands
        name, weathers, spots, features, indoor = rng.choice(cands)
        self.name = name
        self.the = "the " + name
        self.The = "The " + name
        self.weathers = weathers
        self.spots = spots
        self.features = features
        self.indoor = indoor
        self.weather = weather if weather in weathers else rng.choice(weathers)


class Namer:
    """Hands out names without repeats inside one story."""

    def __init__(self, rng):
        self.rng = rng
        self.used = set()

    def pick(self, pool):
        for _ in range(50):
            n = self.rng.choice(pool)
            if n not in self.used:
                self.used.add(n)
                return n
        return self.rng.choice(pool)


def make_kid(rng, namer, gender=None):
    gender = gender or rng.choice(["girl", "boy"])
    name = namer.pick(GIRL_NAMES if gender == "girl" else BOY_NAMES)
    pron = "she" if gender == "girl" else "he"
    r = rng.random()
    if r < 0.35:
        np_ = rng.choice(SIZE_ADJ[:3]) + " " + gender
    elif r < 0.7:
        np_ = rng.choice(TRAITS) + " little " + gender
    else:
        np_ = gender
    how = rng.choice(["named", "named", "called"])
    desc = a(np_) + " " + how + " " + name
    return Char(name, pron, desc, gender, rng.choice(KID_HOMES), "the " + gender)


def make_animal(rng, namer, species=None):
    species = species or rng.choice(SPECIES_KEYS)
    noun, home, sound = SPECIES[species]
    name = namer.pick(PET_NAMES)
    pron = rng.choice(["he", "she"])
    r = rng.random()
    if r < 0.4:
        np_ = rng.choice(SIZE_ADJ[:3]) + " " + rng.choice(COAT[species]) + " " + noun
    elif r < 0.75:
        np_ = rng.choice(TRAITS) + " " + noun
    else:
        np_ = rng.choice(SIZE_ADJ) + " " + noun
    how = rng.choice(["named", "named", "called"])
    desc = a(np_) + " " + how + " " + name
    return Char(name, pron, desc, noun, "lived " + home, "the " + noun, sound)


def make_main(rng, namer):
    return make_kid(rng, namer) if rng.random() < 0.55 else make_animal(rng, namer)


def make_friend(rng, namer, main):
    # kids befriend kids or pets; animals befriend animals
    if main.kind in ("girl", "boy"):
        return make_kid(rng, namer) if rng.random() < 0.7 else make_animal(rng, namer)
    return make_animal(rng, namer)


def make_parent(rng, main):
    who = rng.choice(["Mom", "Mom", "Dad", "Dad", "Grandma", "Grandpa"])
    pron = "she" if who in ("Mom", "Grandma") else "he"
    return Char(who, pron, main.his + " " + who.lower(), "parent")


def _side(c, first):
    c.first, c.First = first, cap(first)
    return c


def make_helper(rng, namer, main):
    r = rng.random()
    if r < 0.4:
        return make_parent(rng, main)
    if r < 0.55:
        return _side(Char("the wise old owl", "he", "a wise old owl", "owl"), "a wise old owl")
    if r < 0.65:
        pron = rng.choice(["he", "she"])
        return _side(Char("the kind farmer", pron, "a kind farmer", "farmer"), "a kind farmer")
    if r < 0.75:
        pron = rng.choice(["he", "she"])
        return _side(Char("the friendly neighbor", pron, "a friendly neighbor", "neighbor"),
                     "a friendly neighbor")
    f = make_friend(rng, namer, main)
    return _side(f, main.his + " friend " + f.name)


def pair(x, y):
    return Char(x.name + " and " + y.name, "they", x.name + " and " + y.name,
                "group", the="the two friends")


# --------------------------------------------------------------------------
# Sentence builders
# --------------------------------------------------------------------------

class Story:
    def __init__(self, rng):
        self.rng = rng
        self.paras = [[]]

    def add(self, *sentences):
        for s in sentences:
            if s:
                self.paras[-1].append(s)

    def para(self):
        if self.paras[-1]:
            self.paras.append([])

    def pick(self, options, **kw):
        return self.rng.choice(options).format(**kw)

    def text(self):
        return "\n".join(" ".join(p) for p in self.paras if p)

    # dialogue --------------------------------------------------------------
    def say(self, who, line, verbs=None, pron=False, reply=False):
        """Quote a line (ending in . ! or ?) with one of several layouts.

        pron: the speaker was the subject of the sentence just before, so
        "she said" is unambiguous.  reply: the line answers the one before.
        """
        rng = self.rng
        end = line[-1]
        if verbs is None:
            if end == "?":
                verbs = ASK
            elif end == "!":
                verbs = EXCLAIM
            else:
                verbs = REPLY if reply else SAY
        verb = rng.choice(verbs)
        r = rng.random()
        if r < 0.5:
            q = line[:-1] + "," if end == "." else line
            if pron and rng.random() < 0.6:
                return '"%s" %s %s.' % (q, who.he, verb)
            if rng.random() < 0.6 and " " not in verb:
                return '"%s" %s %s.' % (q, verb, who.name)
            return '"%s" %s %s.' % (q, who.name, verb)
        if r < 0.85 or end == "!":
            return '%s %s, "%s"' % (who.Name if not pron else who.He, verb, line)
        # action, then the quote
        if end == "?":
            act = rng.choice(["looked up", "looked around", "tilted %s head" % who.his])
        else:
            act = rng.choice(["smiled", "nodded", "took a deep breath",
                              "thought for a moment"])
        return '%s %s. "%s"' % (who.Name, act, line)

    def feel(self, who, mood):
        return self.pick([
            "{W.Name} felt {m}.", "{W.Name} {W.was} very {m}.", "{W.He} felt so {m}.",
            "{W.Name} {W.was} {m}.", "This made {W.name} feel {m}.",
        ], W=who, m=mood)


# --------------------------------------------------------------------------
# Openings and endings shared by templates
# --------------------------------------------------------------------------

def opening(st, main, place=None):
    rng = st.rng
    hobby = rng.choice(HOBBIES)
    if main.kind in ("girl", "boy"):
        home = "lived " + main.home
    else:
        home = main.home
    first = st.pick([
        "Once upon a time, there was {M.desc}.",
        "Once upon a time, there was {M.desc} who {home}.",
        "Once upon a time, {M.desc} {home}.",
        "There once was {M.desc}.",
        "Once there was {M.desc}.",
        "{M.Desc} {home}.",
        "One day, {M.desc} woke up early.",
        "Long ago, there was {M.desc} who {home}.",
    ], M=main, home=home)
    trait = rng.choice(TRAITS)
    second = st.pick([
        "{M.He} loved to {hobby}.",
        "{M.Name} was very {trait} and loved to {hobby}.",
        "{M.He} was {art_trait} {kind} who liked to {hobby}.",
        "Every day, {M.name} liked to {hobby}.",
        "More than anything, {M.name} loved to {hobby}.",
        "",
    ], M=main, hobby=hobby, trait=trait, art_trait=a(trait), kind=main.kind)
    st.add(first, second)


def weather_line(st, place):
    return st.rng.choice(WEATHER[place.weather])


def day_start(st, main, place):
    first = st.pick([
        "One day, {M.name} went to {P.the}.",
        "One morning, {M.name} decided to go to {P.the}.",
        "One {w} day, {M.name} went to play in {P.the}.",
        "One afternoon, {M.name} walked to {P.the}.",
        "Then one day, {M.name} went to {P.the} to play.",
    ], M=main, P=place, w=place.weather)
    st.add(first)
    if place.weather not in first and st.rng.random() < 0.6:
        st.add(weather_line(st, place))
    if st.rng.random() < 0.5:
        f = st.rng.sample(place.features, 2)
        st.add(st.pick([
            "There {be} {f0} and {f1}.",
            "{P.The} had {f0} and {f1}.",
            "{M.He} saw {f0} and {f1}.",
        ], M=main, P=place, f0=f[0], f1=f[1],
            be="was" if f[0].startswith(("a ", "an ")) else "were"))


MORALS = {
    "share": [
        "Sharing is caring.",
        "{M.Name} learned that sharing makes everyone happy.",
        "From that day on, {M.name} always shared with {M.his} friends.",
        "{M.Name} learned that it is more fun to play together.",
    ],
    "brave": [
        "{M.Name} learned that being brave is not about never being scared.",
        "From that day on, {M.name} was not afraid anymore.",
        "{M.Name} learned that you can do hard things if you try.",
        "Sometimes the things we fear are not so scary after all.",
    ],
    "kind": [
        "{M.Name} learned that being kind is the best thing of all.",
        "From that day on, {M.name} always helped others.",
        "A little kindness can go a long way.",
        "{M.Name} learned that helping others makes you feel good inside.",
    ],
    "try": [
        "{M.Name} learned to never give up.",
        "{M.Name} learned that if you keep trying, you can do it.",
        "From that day on, {M.name} always tried again.",
        "Practice and patience always pay off.",
    ],
    "listen": [
        "{M.Name} learned to always listen to {M.his} {parent}.",
        "From that day on, {M.name} always listened.",
        "{M.Name} learned that rules are there to keep us safe.",
    ],
    "careful": [
        "{M.Name} learned to be more careful with {M.his} things.",
        "From that day on, {M.name} always kept {T.the} close.",
        "{M.Name} learned that it is okay to ask for help.",
    ],
    "friend": [
        "{M.Name} learned that a friend can make any day better.",
        "From that day on, {M.name} and {F.name} were best friends.",
        "{M.Name} was never lonely again.",
    ],
    "give": [
        "{M.Name} learned that giving is even better than getting.",
        "The best gifts come from the heart.",
        "{M.Name} learned that love is the best gift of all.",
    ],
    "fun": [
        "{M.Name} learned that you can have fun anywhere if you use your imagination.",
        "Even a gray day can be full of fun.",
        "From that day on, {M.name} was never bored on a {w} day.",
    ],
    "explore": [
        "{M.Name} learned that the world is full of wonderful surprises.",
        "The best treasure was the fun they had together.",
        "From that day on, {M.name} loved to explore.",
    ],
}


def moral(st, kind, main, **kw):
    if st.rng.random() < 0.8:
        st.add(st.pick(MORALS[kind], M=main, **kw))


def happy_end(st, who):
    st.add(st.pick([
        "{W.Name} smiled a big smile.",
        "{W.Name} {W.was} very happy.",
        "{W.He} laughed and clapped {W.his} hands.",
        "{W.Name} jumped up and down with joy.",
        "{W.He} felt warm and happy inside.",
        "",
    ], W=who))


# --------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------

def t_lost_object(rng):
    st = Story(rng)
    namer = Namer(rng)
    m = make_main(rng, namer)
    t = Thing(rng)
    p = Place(rng, need_outdoor=rng.random() < 0.7)
    h = make_helper(rng, namer, m)
    opening(st, m)
    st.add(st.pick([
        "{M.Name} had {T.a}. {M.He} loved {T.it} very much.",
        "{M.His} favorite toy was {T.a}.",
        "{M.Name} had {T.a} that {M.he} took everywhere.",
        "{M.Name} always played with {M.his} {T.full}.",
    ], M=m, T=t))
    st.para()
    day_start(st, m, p)
    st.add(st.pick([
        "{M.He} took {M.his} {T.noun} with {M.him}.",
        "{M.He} brought {T.the} along.",
        "{M.Name} took {T.the} to play with.",
    ], M=m, T=t))
    st.add(st.pick([
        "{M.He} played and played until the sun began to set.",
        "{M.He} ran, jumped and laughed all afternoon.",
        "{M.He} had so much fun that {M.he} forgot about the time.",
        "{M.He} played for a long time.",
    ], M=m))
    st.add(st.pick([
        "When it was time to go home, {M.name} looked for {M.his} {T.noun}. But {T.it_sub} {T.was} gone!",
        "Then {M.name} saw that {M.his} {T.noun} {T.was} missing.",
        "Suddenly, {M.name} could not find {M.his} {T.noun}.",
        "But when {M.he} looked down, {T.the} {T.was} not there!",
    ], M=m, T=t))
    st.add(st.feel(m, rng.choice(["sad", "worried", "upset", "scared"])))
    st.add(st.say(m, rng.choice([
        "Where is my %s?" % t.noun,
        "Oh no! I lost my %s!" % t.noun,
        "I can't find my %s anywhere!" % t.noun,
        "Has anyone seen my %s?" % t.noun,
    ]), verbs=["said", "cried", "wondered"]))
    st.para()
    spots = rng.sample(p.spots, 3)
    st.add(st.pick([
        "{M.Name} looked {s0}. {T.It} {T.was} not there.",
        "First, {M.he} looked {s0}, but {M.he} did not find {T.it}.",
        "{M.He} searched {s0}, but there was nothing there.",
    ], M=m, T=t, s0=spots[0]))
    if rng.random() < 0.6:
        st.add(st.pick([
            "Then {M.he} looked {s1}. Still nothing.",
            "Next, {M.he} looked {s1}, but {T.it_sub} {T.was} not there either.",
        ], M=m, T=t, s1=spots[1]))
    st.add(st.pick([
        "Just then, {H.first} came by.",
        "Then {M.name} saw {H.first}.",
        "Soon, {H.first} came over.",
    ], M=m, H=h))
    st.add(st.say(h, rng.choice([
        "Why are you sad?",
        "What is wrong?",
        "Can I help you?",
        "Did you lose something?",
    ])))
    st.add(st.say(m, "I lost my %s. I looked everywhere!" % t.full, reply=True))
    st.add(st.say(h, reply=True, line=rng.choice([
        "Don't worry. I will help you look.",
        "Let's look together.",
        "Two pairs of eyes are better than one. Let's find it.",
        "I will help you. We can find it together.",
    ])))
    st.para()
    st.add(st.pick([
        "They looked together. After a while, {H.name} pointed {s2}. \"Look!\" {H.he} said. There was {M.his} {T.noun}!",
        "Together they searched. At last, {M.name} saw something {s2}. It was {M.his} {T.noun}!",
        "They looked and looked. Then {H.name} found {T.the} {s2}.",
    ], M=m, H=h, T=t, s2=spots[2]))
    st.add(st.say(m, rng.choice(["Thank you so much!", "You found it! Thank you!",
                                 "Hooray! Thank you for helping me!"]),
                  verbs=["said", "shouted", "cheered"]))
    happy_end(st, m)
    if rng.random() < 0.5:
        st.add(st.pick([
            "{M.Name} hugged {M.his} {T.noun} and walked home with {H.name}.",
            "{M.He} held {T.the} tight all the way home.",
            "That night, {M.name} went to sleep with {T.the} right next to {M.him}.",
        ], M=m, H=h, T=t))
    moral(st, "careful", m, T=t)
    return st.text()


def t_sharing(rng):
    st = Story(rng)
    namer = Namer(rng)
    m = make_main(rng, namer)
    f = make_friend(rng, namer, m)
    t = Thing(rng)
    p = Place(rng, need_outdoor=True)
    opening(st, m)
    st.add(st.pick([
        "{M.Name} had a friend named {F.name}. {F.Name} was {F.desc_short}.",
        "{M.His} best friend was {F.name}.",
        "{M.Name} liked to play with {F.name}.",
    ], M=m, F=_short(f)))
    st.para()
    st.add(st.pick([
        "One day, {M.name} and {F.name} were playing in {P.the}.",
        "One day, {M.name} went to {P.the} with {F.name}.",
        "One {w} day, {M.name} and {F.name} met in {P.the}.",
    ], M=m, F=f, P=p, w=p.weather))
    if rng.random() < 0.5:
        st.add(weather_line(st, p))
    st.add(st.pick([
        "{M.Name} had {T.a}.",
        "{M.Name} brought {M.his} new {T.full}.",
        "They found {T.a} on the ground.",
    ], M=m, T=t))
    st.add(st.say(f, rng.choice([
        "Can I play with the %s too?" % t.noun,
        "I want to %s the %s!" % (t.verb, t.noun),
        "Can I have a turn, please?",
        "Wow, can I try?",
    ])))
    st.add(st.say(m, rng.choice([
        "No, it is mine!",
        "No! I want to play with it by myself.",
        "Not now. I am playing.",
        "No, you can't!",
    ]), reply=True))
    st.add(st.pick([
        "{F.Name} felt sad and sat down alone.",
        "{F.Name}'s face fell, and {F.he} walked away.",
        "{F.Name} looked at the ground. {F.He} felt left out.",
        "{F.Name} began to cry.",
    ], F=f))
    st.para()
    st.add(st.pick([
        "{M.Name} played with {T.the}, but it was not much fun alone.",
        "{M.Name} tried to {T.verb} {T.the} alone, but {M.he} did not feel happy.",
        "Soon, {M.name} was bored. Playing alone was no fun.",
    ], M=m, T=t))
    if rng.random() < 0.5:
        par = make_parent(rng, m)
        st.add(st.pick([
            "{P.Name} saw what happened and came over.",
            "Then {P.name} came to see what was wrong.",
        ], P=par))
        st.add(st.say(par, rng.choice([
            "It is nice to share with your friends.",
            "How would you feel if %s did not share with you?" % f.name,
            "Toys are more fun when we share them.",
        ])))
        st.add(st.pick([
            "{M.Name} thought about it.",
            "{M.Name} looked at {F.name} and felt sorry.",
        ], M=m, F=f))
    else:
        st.add(st.pick([
            "{M.Name} looked at {F.name}, who was all alone. {M.He} felt bad.",
            "Then {M.name} remembered how much fun {M.he} had with {F.name}.",
        ], M=m, F=f))
    st.add(st.pick([
        "{M.He} walked over to {F.name}.",
        "{M.Name} went to {F.name} and held out {T.the}.",
    ], M=m, F=f, T=t))
    st.add(st.say(m, rng.choice([
        "I'm sorry. Do you want to play together?",
        "I'm sorry, %s. Let's take turns." % f.name,
        "Here, you can have a turn. We can share.",
    ]), pron=True))
    st.add(st.say(f, rng.choice(["Yes! Thank you!", "Okay! That sounds fun.", "Really? Thank you!"]),
                  verbs=["said", "said", "cheered"]))
    st.para()
    b = pair(m, f)
    st.add(st.pick([
        "{B.Name} took turns and played all day.",
        "{B.Name} played together until it was time to go home.",
        "They laughed and played together. It was much more fun than playing alone.",
        "Together, {B.name} had the best day ever.",
    ], B=b))
    moral(st, "share", m)
    return st.text()


def _short(c):
    c.desc_short = c.desc.split(" named ")[0].split(" called ")[0]
    return c


FEARS = [
    ("the dark", "the dark room", "go into the dark room",
     "turned on a little light", "the room was full of toys, not monsters"),
    ("the big slide", "the big slide", "go down the big slide",
     "held on tight", "it was fast and fun"),
    ("the deep water", "the water", "swim in the water",
     "put on a little float", "the water was cool and nice"),
    ("the tall tree", "the tall tree", "climb the tall tree",
     "held the branches carefully", "the view from the top was beautiful"),
    ("the loud thunder", "the storm", "look out of the window",
     "hugged a soft pillow", "the storm was only noisy, and then a rainbow came out"),
    ("the big dog next door", "the big dog", "say hello to the big dog",
     "held out a hand slowly", "the big dog just wanted to play"),
    ("the first day of school", "school", "walk into the classroom",
     "took a deep breath", "the teacher was kind and the other kids were nice"),
    ("the old bridge", "the old bridge", "walk across the old bridge",
     "took one small step at a time", "the bridge was strong and safe"),
]


def t_fear(rng):
    st = Story(rng)
    namer = Namer(rng)
    m = make_main(rng, namer)
    h = make_helper(rng, namer, m)
    fear, thing, act, trick, truth = rng.choice(FEARS)
    opening(st, m)
    st.add(st.pick([
        "But {M.name} was afraid of {fear}.",
        "There was one thing {M.name} did not like: {fear}.",
        "{M.Name} was scared of {fear}.",
    ], M=m, fear=fear))
    st.para()
    st.add(st.pick([
        "One day, {M.name} had to {act}.",
        "One day, {M.name} wanted to {act}, but {M.he} was too scared.",
        "Every time {M.name} tried to {act}, {M.his} legs began to shake.",
    ], M=m, act=act))
    st.add(st.say(m, rng.choice([
        "I can't do it. I am too scared.",
        "What if something bad happens?",
        "I don't want to!",
        "It is too scary for me.",
    ]), QUIET if rng.random() < 0.4 else None))
    st.add(st.pick([
        "{H.First} sat down next to {M.name}.",
        "{H.First} saw that {M.name} was scared.",
        "{H.First} came and gave {M.name} a hug.",
    ], M=m, H=h))
    st.add(st.say(h, pron=True, line=rng.choice([
        "It is okay to be scared. I will be right here with you.",
        "You are braver than you think.",
        "Let's do it together, one step at a time.",
        "Being brave means trying even when you are scared.",
    ])))
    st.para()
    st.add(st.pick([
        "{M.Name} took a deep breath. {M.He} {trick}.",
        "{M.Name} nodded. Slowly, {M.he} {trick}.",
        "{M.Name} counted to three and {trick}.",
    ], M=m, trick=trick))
    st.add(st.pick([
        "Then {M.he} saw that {truth}.",
        "To {M.his} surprise, {truth}.",
        "Soon {M.name} found out that {truth}.",
    ], M=m, truth=truth))
    st.add(st.say(m, rng.choice([
        "I did it!",
        "That was not scary at all!",
        "Look, I am not scared anymore!",
        "Can I do it again?",
    ]), pron=True))
    st.add(st.pick([
        "{H.Name} smiled. \"I am so proud of you,\" {H.he} said.",
        "{H.Name} clapped {H.his} hands.",
        "{H.Name} gave {M.name} a big hug.",
    ], M=m, H=h))
    st.add(st.feel(m, rng.choice(["proud", "brave", "happy"])))
    moral(st, "brave", m)
    return st.text()


TROUBLES = [
    ("a little bird", "had a hurt wing and could not fly", "made a soft bed of leaves for it and gave it some water",
     "After a few days, the bird's wing was better, and it flew up into the sky", "chirped a happy song"),
    ("a small kitten", "was stuck high up in a tree", "got a ladder and helped it climb down",
     "The kitten was safe on the ground again", "purred and rubbed against the ladder"),
    ("a baby duck", "had lost its mother", "walked with it along the river until they found the mother duck",
     "The baby duck swam to its mother as fast as it could", "quacked with joy"),
    ("an old turtle", "was stuck on its back", "gently turned it over",
     "The turtle could walk again", "nodded its slow old head"),
    ("a tiny ant", "could not carry a big crumb up the hill", "carried the crumb to the ant hill",
     "All the ants came out to see the big crumb", "waved its tiny legs"),
    ("a little frog", "was stuck in a jar", "tipped the jar over very carefully",
     "The frog hopped out onto the grass", "croaked a big thank you"),
    ("a lost puppy", "was cold and shaking in the rain", "wrapped it in a warm towel and found its owner",
     "The puppy's owner was so happy to see it", "wagged its tail"),
    ("a hungry squirrel", "could not find any food for the winter", "shared some nuts and seeds",
     "The squirrel had enough food for the whole winter", "did a happy little dance"),
]


def t_help(rng):
    st = Story(rng)
    namer = Namer(rng)
    m = make_main(rng, namer)
    p = Place(rng, need_outdoor=True)
    who, trouble, fix, result, react = rng.choice(TROUBLES)
    opening(st, m)
    st.para()
    day_start(st, m, p)
    st.add(st.pick([
        "Suddenly, {M.he} heard a small sound. It was {who}.",
        "On the way, {M.name} saw {who}.",
        "Then {M.name} found {who} {spot}.",
    ], M=m, who=who, spot=rng.choice(p.spots)))
    short = who.split(" ", 1)[1]
    st.add("The %s %s." % (short, trouble))
    st.add(st.say(m, rng.choice([
        "Oh no! You poor thing.",
        "Don't worry, little %s. I will help you." % short.split()[-1],
        "I have to help!",
    ]), verbs=["said"]))
    if rng.random() < 0.5:
        st.add(st.pick([
            "{M.Name} did not know how, but {M.he} wanted to help.",
            "{M.Name} thought hard about what to do.",
            "{M.Name} did not know what to do at first.",
        ], M=m))
    st.para()
    if "ladder" in fix or "owner" in fix:
        par = make_parent(rng, m)
        st.add(st.pick([
            "{M.Name} ran to get {P.name}.",
            "{M.Name} called for {P.name}, and {P.he} came quickly.",
        ], M=m, P=par))
        st.add("Together, they %s." % fix)
    else:
        st.add(st.pick([
            "{M.Name} {fix}.",
            "Very carefully, {M.name} {fix}.",
            "So {M.name} {fix}.",
        ], M=m, fix=fix))
    st.add(result + ".")
    st.add("The %s %s." % (short, react))
    st.add(st.feel(m, rng.choice(["happy", "proud", "warm inside"])))
    if rng.random() < 0.5:
        st.add(st.pick([
            "After that, the {s} came to visit {M.name} every day.",
            "From then on, {M.name} and the {s} were good friends.",
        ], M=m, s=short.split()[-1]))
    moral(st, "kind", m)
    return st.text()


GOALS = [
    # (goal phrase, place weather, attempt fail, fix, success, object)
    ("fly a kite", "windy", "the kite fell down to the ground",
     "ran faster and let the string out slowly", "the kite rose high into the sky"),
    ("build a sand castle", "sunny", "a big wave washed the castle away",
     "built the castle farther from the water", "the castle stood tall and strong"),
    ("ride a bike", "sunny", "{M.he} wobbled and fell over",
     "kept {M.his} eyes ahead and pedaled again", "{M.he} rode all the way down the path"),
    ("bake a cake", None, "the cake came out flat and burnt",
     "read the recipe again and measured everything carefully", "the cake came out big and fluffy"),
    ("build a tall tower of blocks", None, "the tower fell down with a crash",
     "put the big blocks at the bottom", "the tower was taller than {M.him}"),
    ("catch a fish", "cloudy", "the fish swam away",
     "sat very still and waited", "a little fish bit the line"),
    ("make a snowman", "snowy", "the snowman's head rolled off",
     "packed the snow tight and made the head smaller", "the snowman stood with a carrot nose and a big smile"),
    ("jump over the puddle", "rainy", "{M.he} landed right in the middle with a big splash",
     "took a long run before jumping", "{M.he} landed on the other side"),
    ("whistle a song", None, "only air came out",
     "practiced a little every day", "a clear, happy sound came out"),
    ("climb to the top of the hill", "sunny", "{M.he} got tired halfway up",
     "rested a little and then walked on slowly", "{M.he} reached the top and saw the whole town"),
]


def t_try_again(rng):
    st = Story(rng)
    namer = Namer(rng)
    m = make_main(rng, namer)
    goal, weather, fail, fix, success = rng.choice(GOALS)
    kw = dict(M=m)
    fail, fix, success = fail.format(**kw), fix.format(**kw), success.format(**kw)
    if weather is None:
        p = None
    else:
        p = Place(rng, need_outdoor=True, weather=weather)
    opening(st, m)
    st.add(st.pick([
        "{M.Name} wanted to {goal} more than anything.",
        "{M.Name} had a big wish. {M.He} wanted to {goal}.",
        "For a long time, {M.name} had wanted to learn to {goal}.",
    ], M=m, goal=goal))
    st.para()
    if weather is not None:
        st.add(weather_line(st, p))
        st.add(st.pick([
            "{M.Name} went to {P.the}. \"Today I will {goal}!\" {M.he} said.",
            "{M.Name} went out to {P.the} to {goal}.",
            "\"This is the perfect day to {goal},\" {M.name} said, and {M.he} went to {P.the}.",
        ], M=m, P=p, goal=goal))
    else:
        st.add(st.pick([
            "One day, {M.name} decided to try to {goal}.",
            "{M.Name} said, \"Today I will {goal}!\"",
        ], M=m, goal=goal))
    st.add(st.pick([
        "{M.He} tried, but {fail}.",
        "On the first try, {fail}.",
        "{M.He} tried very hard. But {fail}.",
    ], M=m, fail=fail))
    st.add(st.feel(m, rng.choice(["sad", "upset", "grumpy"])))
    st.add(st.say(m, rng.choice([
        "I will never be able to do it!",
        "This is too hard!",
        "Why can't I do it?",
        "Maybe I should give up.",
    ]), verbs=SAD))
    st.para()
    h = make_helper(rng, namer, m)
    st.add(st.pick([
        "{H.First} saw {M.name} and came over.",
        "Then {H.first} came by.",
        "Just then, {H.first} walked up to {M.name}.",
    ], M=m, H=h))
    st.add(st.say(h, pron=True, line=rng.choice([
        "Don't give up. Everyone falls before they fly.",
        "Try again. This time, go slowly.",
        "Nobody gets it right the first time. Keep trying!",
        "I know you can do it. Let's try once more.",
    ])))
    st.add(st.pick([
        "So {M.name} tried again. This time, {M.he} {fix}.",
        "{M.Name} nodded. {M.He} {fix}.",
        "{M.Name} did not give up. {M.He} {fix}.",
    ], M=m, fix=fix))
    st.add(st.pick([
        "And then, {success}!",
        "It worked! {S}.",
        "Slowly but surely, {success}.",
    ], success=success, S=cap(success)))
    st.add(st.say(m, rng.choice(["I did it! I really did it!", "Hooray!", "Look at me!",
                                 "I knew I could do it!"]), verbs=["said", "shouted", "cheered"]))
    happy_end(st, m)
    moral(st, "try", m)
    return st.text()


RULES = [
    ("don't go near the pond", "went close to the pond to look at the fish",
     "slipped on the wet grass and fell into the shallow water", "wet and cold"),
    ("don't climb on the table", "climbed up on the table to reach the cookie jar",
     "knocked over a cup of milk and it spilled everywhere", "sticky and sorry"),
    ("don't play with the ball in the house", "kicked the ball in the living room",
     "the ball hit a vase and it fell to the floor", "scared and sorry"),
    ("don't eat too many sweets", "ate one candy, then another, and then ten more",
     "{M.his} tummy began to hurt", "sick and sorry"),
    ("stay close to me at the market", "ran off to look at the colorful balloons",
     "{M.he} turned around and could not see {P.name} anywhere", "lost and scared"),
    ("don't go out in the rain without your boots", "ran outside in {M.his} new shoes",
     "{M.his} shoes got all wet and muddy", "cold and sorry"),
    ("don't touch the hot stove", "reached for the pot on the stove",
     "{M.he} felt how hot it was and pulled {M.his} hand back just in time", "scared"),
]


def t_dont_listen(rng):
    st = Story(rng)
    namer = Namer(rng)
    m = make_main(rng, namer)
    par = make_parent(rng, m)
    rule, did, bad, feeling = rng.choice(RULES)
    kw = dict(M=m, P=par)
    did, bad = did.format(**kw), bad.format(**kw)
    opening(st, m)
    st.add(st.pick([
        "{M.Name} lived with {P.desc}.",
        "{M.Name} loved {P.desc} very much.",
        "",
    ], M=m, P=par))
    st.para()
    rule_txt = cap(rule)
    st.add(st.pick([
        "One day, {P.name} said, \"{R}, {M.name}.\"",
        "\"{R},\" {P.name} told {M.name} one morning.",
        "{P.Name} always said, \"{R}.\"",
    ], M=m, P=par, R=rule_txt))
    st.add(st.pick([
        "But {M.name} did not listen.",
        "{M.Name} nodded, but {M.he} was not really listening.",
        "But {M.name} thought, \"Just this once will be okay.\"",
    ], M=m))
    st.add(st.pick([
        "When no one was looking, {M.he} {did}.",
        "Later, {M.name} {did}.",
        "So {M.he} {did}.",
    ], M=m, did=did))
    st.add(st.pick([
        "Oh no! {B}.",
        "Then {bad}.",
        "Suddenly, {bad}.",
    ], bad=bad, B=cap(bad)))
    st.add("%s felt %s." % (m.Name, feeling))
    st.para()
    st.add(st.pick([
        "{P.Name} came running.",
        "{P.Name} heard the noise and came quickly.",
        "Soon, {P.name} found {M.him}.",
    ], M=m, P=par))
    st.add(st.say(m, rng.choice([
        "I'm sorry. I should have listened to you.",
        "I'm sorry, %s. I did not listen." % par.name,
        "I won't do it again. I promise.",
    ]), QUIET if rng.random() < 0.5 else None, reply=True))
    st.add(st.pick([
        "{P.Name} gave {M.him} a big hug.",
        "{P.Name} smiled and hugged {M.name}.",
        "{P.Name} was not angry. {P.He} helped {M.name} clean up.",
    ], M=m, P=par))
    st.add(st.say(par, pron=True, reply=True, line=rng.choice([
        "I know. Rules help keep you safe.",
        "I am glad you are okay. Next time, please listen.",
        "Everyone makes mistakes. What matters is that we learn from them.",
    ])))
    moral(st, "listen", m, parent=par.name.lower())
    return st.text()


GIFTS = [
    ("a card", "drew a big heart and a sun on it", "the crayons broke", "used a pencil instead"),
    ("a necklace of flowers", "picked the prettiest flowers in the garden", "the string snapped", "tied it again with a ribbon"),
    ("a cake", "mixed flour, eggs and sugar", "the cake was a bit flat", "put lots of berries on top"),
    ("a painting", "painted the house, the garden and the whole family", "some paint spilled on it", "turned the spill into a flower"),
    ("a little box", "decorated it with shells and stickers", "one shell fell off", "glued it back on"),
    ("a song", "practiced it again and again", "{M.he} forgot some of the words", "made up new words"),
]


def t_gift(rng):
    st = Story(rng)
    namer = Namer(rng)
    m = make_main(rng, namer)
    if rng.random() < 0.5:
        r = make_parent(rng, m)
        r_is_parent = True
    else:
        r = make_friend(rng, namer, m)
        r_is_parent = False
    rname = r.name
    gift, make, oops, fix = rng.choice(GIFTS)
    kw = dict(M=m)
    make, oops, fix = make.format(**kw), oops.format(**kw), fix.format(**kw)
    occasion = rng.choice(["birthday", "birthday", "special day"])
    if r_is_parent:
        occ = "%s's %s" % (rname, occasion)
    else:
        occ = "the %s of %s friend %s" % (occasion, m.his, rname)
    opening(st, m)
    st.para()
    st.add(st.pick([
        "Tomorrow was {occ}.",
        "Soon it would be {occ}.",
        "It was almost {occ}.",
    ], occ=occ))
    st.add(st.pick([
        "{M.Name} wanted to give {R} something special.",
        "{M.Name} thought and thought about the perfect gift.",
        "{M.Name} did not have any money, but {M.he} had an idea.",
    ], M=m, R=rname))
    st.add(st.say(m, "I will make %s!" % gift, verbs=["said", "thought"]))
    st.add(st.pick([
        "{M.He} worked very hard. {M.He} {make}.",
        "All afternoon, {M.name} {make}.",
        "First, {M.he} {make}.",
    ], M=m, make=make))
    st.add(st.pick([
        "But then {oops}.",
        "Oh no! {O}.",
        "Just when {M.he} was almost done, {oops}.",
    ], M=m, oops=oops, O=cap(oops)))
    st.add(st.feel(m, rng.choice(["worried", "upset", "sad"])))
    st.add(st.pick([
        "But {M.name} did not give up. {M.He} {fix}.",
        "Then {M.name} had an idea. {M.He} {fix}.",
        "{M.Name} thought for a moment and {fix}.",
    ], M=m, fix=fix))
    st.para()
    st.add(st.pick([
        "The next day, {M.name} gave the gift to {R}.",
        "On the big day, {M.name} gave {R} the gift.",
    ], M=m, R=rname))
    st.add(st.say(r, rng.choice([
        "It is beautiful! Did you make it yourself?",
        "This is the best gift ever!",
        "Thank you! I love it so much!",
    ])))
    st.add(st.pick([
        "{M.Name} nodded and smiled.",
        "{R} gave {M.name} a big hug.",
        "{M.Name} felt proud and happy.",
    ], M=m, R=r.Name))
    moral(st, "give", m)
    return st.text()


def t_new_friend(rng):
    st = Story(rng)
    namer = Namer(rng)
    m = make_main(rng, namer)
    f = make_friend(rng, namer, m)
    p = Place(rng, need_outdoor=True)
    game = rng.choice(["tag", "hide and seek", "catch", "jump rope", "a game of pretend",
                       "follow the leader", "ball"])
    opening(st, m)
    st.add(st.pick([
        "But {M.name} had no friends to play with.",
        "{M.Name} was new in town and did not know anyone.",
        "Sometimes {M.name} felt lonely.",
    ], M=m))
    st.para()
    day_start(st, m, p)
    st.add(st.pick([
        "There {M.he} saw {F.desc} playing all alone.",
        "{M.He} saw {F.desc} sitting by {F.himself}.",
        "{Spot}, there was {F.desc}.",
    ], M=m, F=f, Spot=cap(rng.choice(p.spots))))
    st.add(st.pick([
        "{M.Name} felt shy. {M.He} wanted to say hello, but {M.he} was scared.",
        "{M.Name} wanted to play, but {M.he} did not know what to say.",
        "{M.Name} took a deep breath and walked over.",
    ], M=m))
    st.add(st.say(m, rng.choice([
        "Hi, I am %s. Do you want to play?" % m.name,
        "Hello! Can I play with you?",
        "Hi! What is your name?",
    ])))
    st.add(st.say(f, rng.choice([
        "I am %s. Yes, let's play!" % f.name,
        "My name is %s. I would love to play!" % f.name,
        "Hi! I was hoping someone would come. I am %s." % f.name,
    ]), reply=True))
    st.para()
    b = pair(m, f)
    st.add(st.pick([
        "{B.Name} played {g} all afternoon.",
        "They played {g} together. They ran and laughed until they were tired.",
        "First they played {g}. Then they sat in the grass and talked.",
    ], B=b, g=game))
    if rng.random() < 0.5:
        st.add(st.pick([
            "{F.Name} told funny jokes, and {M.name} laughed so hard.",
            "{M.Name} showed {F.name} how to {h}.",
            "They found out that they both liked to {h}.",
        ], M=m, F=f, h=rng.choice(HOBBIES)))
    st.add(st.pick([
        "When it was time to go home, {F.name} said, \"Will you come back tomorrow?\"",
        "Before they left, they promised to play again the next day.",
        "When the sun went down, they waved goodbye.",
    ], F=f))
    moral(st, "friend", m, F=f)
    return st.text()


INDOOR_GAMES = [
    ("built a fort out of blankets and pillows", "It was a castle, and they were the kings and queens"),
    ("made a ship out of a big box", "They sailed across the sea to find treasure"),
    ("put on a puppet show with old socks", "Everyone laughed at the funny puppets"),
    ("baked cookies", "The whole house smelled sweet and warm"),
    ("drew a big map of a magic land", "There were dragons, rivers and a castle made of candy"),
    ("had a tea party with all the toys", "The teddy bear had two cups of tea"),
    ("made music with pots and spoons", "It was loud, but it was so much fun"),
]


def t_rainy_day(rng):
    st = Story(rng)
    namer = Namer(rng)
    m = make_main(rng, namer)
    par = make_parent(rng, m)
    weather = rng.choice(["rainy", "rainy", "snowy"])
    opening(st, m)
    st.para()
    st.add(rng.choice(WEATHER[weather]))
    out = "outside" if weather == "rainy" else "out in the snow"
    st.add(st.pick([
        "{M.Name} wanted to play {out}, but {P.name} said it was too wet and cold.",
        "{M.Name} looked out of the window. {M.He} could not go {out}.",
        "{M.Name} had to stay inside all day.",
    ], M=m, P=par, out=out))
    st.add(st.say(m, rng.choice(["I am so bored!", "There is nothing to do!",
                                 "When will the rain stop?" if weather == "rainy" else "I want to go out!"])))
    st.add(st.say(par, reply=True, line=rng.choice([
        "Let's use our imagination.",
        "I have an idea!",
        "A day inside can be fun too. Let's see what we can do.",
    ])))
    st.para()
    game, result = rng.choice(INDOOR_GAMES)
    who = Char(m.name + " and " + par.name, "they", "", "group")
    st.add(st.pick([
        "So {W.name} {g}.",
        "Together, they {g}.",
        "First, they {g}.",
    ], W=who, g=game.format(P=par)))
    st.add(result + ".")
    if rng.random() < 0.5:
        game2, result2 = rng.choice(INDOOR_GAMES)
        if game2 != game:
            st.add("Then they %s." % game2.format(P=par))
    st.add(st.pick([
        "{M.Name} laughed and laughed.",
        "{M.Name} forgot all about the {w}.",
        "The day went by so fast.",
    ], M=m, w="rain" if weather == "rainy" else "snow"))
    st.add(st.pick([
        "When the {w} stopped, {M.name} was almost sad.",
        "At bedtime, {M.name} said, \"Today was the best day!\"",
        "That night, {M.name} fell asleep with a smile.",
    ], M=m, w="rain" if weather == "rainy" else "snow"))
    moral(st, "fun", m, w=weather)
    return st.text()


TREASURES = [
    ("an old map", "a big X next to the old oak tree", "a wooden box full of shiny buttons"),
    ("a little key", "a small door at the bottom of the garden wall", "a secret garden full of flowers"),
    ("a trail of footprints", "a cave behind the waterfall", "a family of sleepy bears"),
    ("a glowing stone", "a hole in the hill", "a room full of sparkling crystals"),
    ("a note in a bottle", "the big rock by the sea", "a chest with seashells and a pearl"),
    ("a red feather", "a nest high in the tree", "three tiny blue eggs"),
]


def t_explore(rng):
    st = Story(rng)
    namer = Namer(rng)
    m = make_main(rng, namer)
    f = make_friend(rng, namer, m)
    clue, where, found = rng.choice(TREASURES)
    p = Place(rng, need_outdoor=True)
    b = pair(m, f)
    opening(st, m)
    st.add(st.pick([
        "{M.His} best friend was {F.desc}.",
        "{M.Name} had a friend named {F.name}.",
    ], M=m, F=f))
    st.para()
    st.add(st.pick([
        "One day, {B.name} went to {P.the}.",
        "One {w} morning, {B.name} went exploring in {P.the}.",
    ], B=b, P=p, w=p.weather))
    st.add(st.pick([
        "{F.Name} found {c} {spot}.",
        "Under a leaf, {M.name} saw {c}.",
        "Suddenly, {M.name} stopped. There was {c} on the ground!",
    ], M=m, F=f, c=clue, spot=rng.choice(p.spots)))
    st.add(st.say(f, rng.choice(["What is this?", "Look at this!", "Where do you think it goes?"])))
    st.add(st.say(m, rng.choice(["Let's follow it!", "Maybe it leads to a treasure!",
                                 "Let's find out!"]), reply=True))
    st.para()
    st.add(st.pick([
        "They walked and walked until they came to {where}.",
        "The clue led them to {where}.",
        "After a long walk, they found {where}.",
    ], where=where))
    if rng.random() < 0.6:
        st.add(st.pick([
            "{F.Name} was a little scared, so {M.name} held {F.his} hand.",
            "It was dark and quiet. {M.Name} felt brave with {F.name} by {M.his} side.",
            "{M.Name} was tired, but {F.name} said, \"We are almost there!\"",
        ], M=m, F=f))
    st.add(st.pick([
        "There they found {found}!",
        "And what did they see? {Found}!",
        "Inside, there was {found}.",
    ], found=found, Found=cap(found)))
    st.add(st.say(b, rng.choice(["Wow!", "It's amazing!", "We found it!"])))
    st.add(st.pick([
        "They looked at it for a long time. Then they went home to tell everyone about their adventure.",
        "{B.Name} smiled at each other. It was the best adventure ever.",
        "They promised to keep it their special secret.",
    ], B=b))
    moral(st, "explore", m)
    return st.text()


TEMPLATES = [
    (t_lost_object, 3),
    (t_sharing, 3),
    (t_fear, 2),
    (t_help, 3),
    (t_try_again, 3),
    (t_dont_listen, 2),
    (t_gift, 2),
    (t_new_friend, 2),
    (t_rainy_day, 2),
    (t_explore, 2),
]


def story(rng):
    fns = [f for f, w in TEMPLATES for _ in range(w)]
    return rng.choice(fns)(rng)


def stories(seed, n):
    rng = random.Random(seed)
    for _ in range(n):
        yield story(rng)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stories", type=int, default=10)
    args = ap.parse_args()
    out = sys.stdout
    first = True
    for s in stories(args.seed, args.stories):
        if not first:
            out.write("\n")
        out.write(s + "\n")
        first = False


if __name__ == "__main__":
    main()
