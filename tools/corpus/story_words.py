"""Vocabulary of the story generator (story_grammar.py): English helpers
(articles, capitals, lists) and the word lists: names, species, traits,
objects, places, weather, feelings and speech verbs."""

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
