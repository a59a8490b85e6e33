"""The story templates of the generator (story_grammar.py): each takes a
random.Random and returns one story's text."""

from story_words import *  # noqa: F401,F403  (the vocabulary, by name)
from story_world import *  # noqa: F401,F403  (characters, Story, openings)

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
