"""Characters, things and places of the story generator (story_grammar.py),
the Story sentence builder, and the openings and endings templates share."""

from story_words import *  # noqa: F401,F403  (the vocabulary, by name)

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
