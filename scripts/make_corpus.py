#!/usr/bin/python3
"""Writes data/corpus/sentences.txt: the reference corpus sonify's bundled model is
trained on and that prompt-mode PCA is fitted on.

Every word list and template below was written for this project. The generator is a
small grammar: a topic supplies people, things, places and verbs that belong together,
a mood supplies adjectives, adverbs and exclamations, and a sentence shape (one of the
templates) arranges them. A private SplitMix64 generator makes the output identical on
every machine and Python version.

Usage: scripts/make_corpus.py [--count N] [--seed S] [-o FILE]
"""

import argparse
import os
import sys

MASK = (1 << 64) - 1


class Rng:
    """SplitMix64: tiny, fast and stable across Python versions (unlike random)."""

    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n

    def pick(self, items):
        return items[self.below(len(items))]

    def chance(self, p):
        return (self.next() >> 11) / float(1 << 53) < p


# ---------------------------------------------------------------------------------
# Word forms

VOWEL_SOUND_EXCEPTIONS_AN = ("hour", "honest", "heir")
VOWEL_SOUND_EXCEPTIONS_A = ("uni", "use", "usu", "eu", "one", "once")


def article(phrase):
    w = phrase.lower()
    if w.startswith(VOWEL_SOUND_EXCEPTIONS_AN):
        return "an " + phrase
    if w.startswith(VOWEL_SOUND_EXCEPTIONS_A):
        return "a " + phrase
    return ("an " if w[0] in "aeiou" else "a ") + phrase


def plural(noun):
    """'cup' -> 'cups'; an explicit 'loaf|loaves' overrides the rules."""
    if "|" in noun:
        return noun.split("|")[1]
    if noun.endswith(("s", "sh", "ch", "x", "z")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def singular(noun):
    return noun.split("|")[0]


class Verb:
    """A verb from 'base', 'base/past' or 'base/past/ing', with an optional object
    or complement after '+' (e.g. 'look/looked+at')."""

    def __init__(self, spec):
        self.particle = ""
        if "+" in spec:
            spec, self.particle = spec.split("+", 1)
        parts = spec.split("/")
        self.base = parts[0]
        self.past = parts[1] if len(parts) > 1 else self._regular_past(self.base)
        self.ing = parts[2] if len(parts) > 2 else self._regular_ing(self.base)
        self.third = self._third(self.base)

    @staticmethod
    def _regular_past(b):
        if b.endswith("e"):
            return b + "d"
        if b.endswith("y") and b[-2] not in "aeiou":
            return b[:-1] + "ied"
        return b + "ed"

    @staticmethod
    def _regular_ing(b):
        if b.endswith("ie"):
            return b[:-2] + "ying"
        if b.endswith("e") and not b.endswith(("ee", "ye", "oe")):
            return b[:-1] + "ing"
        return b + "ing"

    @staticmethod
    def _third(b):
        if b == "have":
            return "has"
        if b.endswith(("s", "sh", "ch", "x", "z", "o")):
            return b + "es"
        if b.endswith("y") and b[-2] not in "aeiou":
            return b[:-1] + "ies"
        return b + "s"

    def form(self, which):
        word = {"base": self.base, "past": self.past, "ing": self.ing, "third": self.third}[which]
        return word + (" " + self.particle if self.particle else "")


# ---------------------------------------------------------------------------------
# Topics: who, what, where and which verbs belong together.

TOPICS = {
    "kitchen": dict(
        people=["the baker", "my grandmother", "the young cook", "our neighbour", "the chef", "Uncle Ravi", "the dishwasher", "Aunt Sofia"],
        things=["loaf|loaves", "pot of soup|pots of soup", "onion", "wooden spoon", "kettle", "jar of honey|jars of honey", "apple pie", "bowl of rice|bowls of rice", "recipe", "knife|knives", "lemon", "pan of eggs|pans of eggs"],
        places=["in the kitchen", "by the stove", "at the long table", "near the oven", "in the pantry", "behind the counter"],
        vt=["bake/baked", "stir/stirred/stirring", "chop/chopped/chopping", "taste", "wash", "slice", "carry", "season", "fill", "drop/dropped/dropping", "burn/burnt", "share"],
        vi=["hummed", "waited", "laughed", "hurried", "sighed", "paused"],
        adj=["warm", "sweet", "burnt", "fresh", "salty", "steaming", "golden", "bitter"],
    ),
    "sea": dict(
        people=["the fisherman", "the old sailor", "a girl named Mara", "the lighthouse keeper", "the captain", "the diver", "Tomas", "the ferry pilot"],
        things=["boat", "net", "rope", "shell", "storm", "wave", "anchor", "sail", "map", "lantern", "crab", "bucket of fish|buckets of fish"],
        places=["on the shore", "near the harbour", "out at sea", "on the pier", "below deck", "beside the lighthouse"],
        vt=["pull/pulled", "mend/mended", "watch", "tie/tied/tying", "lower", "lift", "steer", "spot/spotted/spotting", "follow", "lose/lost", "find/found", "throw/threw"],
        vi=["drifted", "waited", "shouted", "swam", "rowed", "shivered"],
        adj=["salty", "grey", "rough", "calm", "endless", "cold", "bright", "heavy"],
    ),
    "forest": dict(
        people=["the hunter", "a small fox", "the ranger", "the woodcutter", "an old owl", "the lost hiker", "Lena", "the botanist"],
        things=["pine cone", "mushroom", "branch|branches", "trail", "nest", "feather", "stream", "axe", "berry|berries", "moss stone", "cabin", "footprint"],
        places=["in the forest", "under the tall pines", "by the stream", "deep in the woods", "on the mossy hill", "near the old cabin"],
        vt=["gather", "follow", "climb", "cut/cut/cutting", "hear/heard", "notice", "pick", "track", "collect", "build/built", "hide/hid/hiding", "leave/left"],
        vi=["wandered", "listened", "rested", "trembled", "whistled", "waited"],
        adj=["green", "damp", "quiet", "tall", "dark", "ancient", "silent", "tangled"],
    ),
    "city": dict(
        people=["the taxi driver", "a street musician", "the mayor", "the postman", "a tired commuter", "the shopkeeper", "Chen", "the night guard"],
        things=["bus|buses", "ticket", "umbrella", "newspaper", "traffic light", "coffee cup", "bicycle", "street sign", "letter", "key", "window", "train"],
        places=["in the busy square", "at the bus stop", "on the crowded street", "outside the station", "on the roof", "in the subway"],
        vt=["miss/missed", "catch/caught", "deliver", "paint", "open", "sell/sold", "read/read", "lock", "park", "wait+for", "fix", "notice"],
        vi=["hurried", "waited", "yawned", "argued", "sang", "stopped"],
        adj=["noisy", "crowded", "wet", "bright", "busy", "empty", "tall", "grey"],
    ),
    "space": dict(
        people=["the astronaut", "the young engineer", "mission control", "the pilot", "the astronomer", "Commander Okafor", "the robot", "the navigator"],
        things=["rocket", "satellite", "star", "telescope", "helmet", "comet", "signal", "planet", "moon rock", "engine", "radio", "orbit"],
        places=["in orbit", "on the launch pad", "beyond the moon", "inside the station", "near the red planet", "at the observatory"],
        vt=["launch", "repair", "observe", "measure", "track", "record", "steer", "guide", "test", "detect", "study/studied", "map/mapped/mapping"],
        vi=["floated", "waited", "counted", "drifted", "listened", "whispered"],
        adj=["distant", "silent", "bright", "frozen", "vast", "strange", "silver", "faint"],
    ),
    "school": dict(
        people=["the teacher", "a shy student", "the headmaster", "my little brother", "the librarian", "Amara", "the class", "the new pupil"],
        things=["book", "pencil", "lesson", "question", "map", "drawing", "exam", "blackboard", "notebook", "poem", "puzzle", "chalk drawing"],
        places=["in the classroom", "at the library", "on the playground", "in the hallway", "at her desk", "after school"],
        vt=["read/read", "write/wrote/writing", "answer", "draw/drew", "forget/forgot/forgetting", "explain", "solve", "copy/copied", "learn", "finish", "lose/lost", "borrow"],
        vi=["smiled", "listened", "whispered", "giggled", "worried", "nodded"],
        adj=["difficult", "easy", "long", "funny", "strange", "new", "boring", "clever"],
    ),
    "music": dict(
        people=["the pianist", "the drummer", "a young singer", "the conductor", "the old fiddler", "Oskar", "the choir", "the composer"],
        things=["song", "melody|melodies", "violin", "drum", "piano", "chord", "rhythm", "trumpet", "score", "guitar", "lullaby|lullabies", "record"],
        places=["on the stage", "in the concert hall", "at the corner cafe", "in the studio", "under the bandstand", "at the rehearsal"],
        vt=["play", "tune", "hum", "compose", "sing/sang", "practise", "record", "hear/heard", "repeat", "carry", "remember", "teach/taught"],
        vi=["bowed", "danced", "clapped", "listened", "paused", "sang"],
        adj=["loud", "soft", "slow", "joyful", "haunting", "bright", "gentle", "sad"],
    ),
    "sports": dict(
        people=["the goalkeeper", "the runner", "the coach", "the young swimmer", "the referee", "the whole team", "Yusuf", "the cyclist"],
        things=["ball", "medal", "race", "whistle", "trophy|trophies", "jersey", "finish line", "goal", "bicycle", "rope", "match|matches", "shoe"],
        places=["on the field", "at the stadium", "in the pool", "on the track", "at the gym", "near the finish line"],
        vt=["kick", "throw/threw", "catch/caught", "win/won/winning", "lose/lost", "chase", "pass", "block", "lift", "train", "watch", "celebrate"],
        vi=["cheered", "stumbled", "ran", "jumped", "trained", "rested"],
        adj=["fast", "tired", "proud", "strong", "nervous", "muddy", "fierce", "steady"],
    ),
    "farm": dict(
        people=["the farmer", "the shepherd", "a little goat", "the old horse", "the farmer's daughter", "the dog", "Grandpa Joe", "the milkmaid"],
        things=["barn", "field", "fence", "bucket", "tractor", "lamb", "egg", "haystack", "pumpkin", "apple tree", "cow", "gate"],
        places=["in the barn", "across the field", "by the pond", "behind the fence", "in the orchard", "on the hill"],
        vt=["feed/fed", "milk", "plant", "harvest", "paint", "fix", "open", "count", "gather", "carry", "plough", "chase"],
        vi=["grazed", "slept", "wandered", "worked", "rested", "barked"],
        adj=["muddy", "golden", "ripe", "sleepy", "wide", "old", "green", "dusty"],
    ),
    "machines": dict(
        people=["the mechanic", "the inventor", "a curious child", "the robot", "the engineer", "the old clockmaker", "Ada", "the technician"],
        things=["gear", "clock", "engine", "wire", "lever", "battery|batteries", "computer", "bolt", "motor", "screen", "machine", "switch|switches"],
        places=["in the workshop", "under the bench", "in the factory", "inside the tower", "in the garage", "at the control panel"],
        vt=["build/built", "fix", "oil", "test", "open", "connect", "wind/wound", "measure", "replace", "program/programmed/programming", "clean", "adjust"],
        vi=["whirred", "clicked", "hummed", "stopped", "sparked", "waited"],
        adj=["rusty", "shiny", "broken", "clever", "loud", "tiny", "complex", "old"],
    ),
    "weather": dict(
        people=["the weather reporter", "a farmer", "the children", "the old woman", "the traveller", "the gardener", "Mira", "the sailor"],
        things=["cloud", "storm", "raindrop", "umbrella", "rainbow", "snowflake", "wind", "puddle", "thunderstorm", "fog bank", "sunrise", "breeze"],
        places=["over the hills", "across the valley", "above the town", "along the coast", "in the garden", "by the window"],
        vt=["watch", "feel/felt", "predict", "fear", "welcome", "photograph", "escape", "notice", "forget/forgot/forgetting", "describe", "follow", "hear/heard"],
        vi=["shivered", "waited", "sheltered", "smiled", "ran", "stayed"],
        adj=["cold", "grey", "heavy", "bright", "stormy", "mild", "misty", "warm"],
    ),
    "family": dict(
        people=["my mother", "my father", "the baby", "my sister", "Grandma", "our cousin", "my brother", "the twins"],
        things=["photograph", "birthday cake", "letter", "blanket", "story|stories", "gift", "dinner", "garden", "holiday", "song", "promise", "old box|old boxes"],
        places=["at home", "in the living room", "at the dinner table", "in the garden", "on the porch", "by the fire"],
        vt=["hug/hugged/hugging", "bake/baked", "open", "tell/told", "remember", "share", "visit", "wrap", "plan", "keep/kept", "find/found", "read/read"],
        vi=["laughed", "cried", "slept", "smiled", "waited", "danced"],
        adj=["warm", "old", "happy", "quiet", "familiar", "small", "precious", "noisy"],
    ),
    "travel": dict(
        people=["the traveller", "the tour guide", "a lost tourist", "the pilot", "the conductor", "my friend Ines", "the hiker", "the stranger"],
        things=["suitcase", "passport", "map", "train ticket", "postcard", "camera", "backpack", "boat", "compass|compasses", "bridge", "mountain", "road"],
        places=["at the airport", "on the night train", "in a small village", "at the border", "on the mountain road", "in the old town"],
        vt=["pack", "lose/lost", "find/found", "cross", "photograph", "follow", "board", "miss/missed", "carry", "check", "climb", "sell/sold"],
        vi=["arrived", "waited", "wandered", "departed", "slept", "hurried"],
        adj=["long", "dusty", "foreign", "crowded", "narrow", "beautiful", "distant", "late"],
    ),
    "health": dict(
        people=["the doctor", "the nurse", "the patient", "the old man", "the surgeon", "the pharmacist", "Dr. Patel", "the young mother"],
        things=["medicine", "bandage", "fever", "heartbeat", "appointment", "glass of water|glasses of water", "letter", "pill", "x-ray", "chart", "wound", "breath"],
        places=["at the hospital", "in the waiting room", "at the clinic", "by the bed", "in the ward", "at the pharmacy"],
        vt=["check", "measure", "treat", "clean", "bandage", "prescribe", "listen+to", "explain", "carry", "count", "calm", "visit"],
        vi=["rested", "coughed", "recovered", "waited", "slept", "breathed"],
        adj=["pale", "tired", "calm", "steady", "gentle", "worried", "weak", "hopeful"],
    ),
    "history": dict(
        people=["the king", "the queen", "the knight", "the old historian", "a brave soldier", "the scribe", "the emperor", "the villagers"],
        things=["castle", "sword", "crown", "scroll", "battle", "treaty|treaties", "wall", "banner", "horse", "letter", "bridge", "tower"],
        places=["in the castle", "on the battlefield", "at the gate", "in the great hall", "near the river", "in the ancient city"],
        vt=["defend", "sign", "build/built", "conquer", "carry", "guard", "burn/burned", "write/wrote/writing", "raise", "lose/lost", "find/found", "remember"],
        vi=["marched", "knelt", "ruled", "fought", "fled", "prayed"],
        adj=["ancient", "golden", "heavy", "broken", "proud", "stone", "royal", "forgotten"],
    ),
    "market": dict(
        people=["the merchant", "the fruit seller", "a young buyer", "the butcher", "the florist", "the spice trader", "Mrs. Kim", "the crowd"],
        things=["basket", "coin", "orange", "scarf|scarves", "bunch of flowers|bunches of flowers", "scale", "price", "sack of flour|sacks of flour", "melon", "tomato|tomatoes", "bread roll", "receipt"],
        places=["at the market", "by the fruit stall", "in the narrow lane", "under the awning", "near the fountain", "in the square"],
        vt=["sell/sold", "buy/bought", "weigh", "count", "carry", "wrap", "arrange", "offer", "smell", "choose/chose", "drop/dropped/dropping", "price"],
        vi=["bargained", "shouted", "laughed", "waited", "hurried", "smiled"],
        adj=["ripe", "cheap", "colourful", "fragrant", "heavy", "fresh", "rare", "expensive"],
    ),
    "night": dict(
        people=["the night watchman", "a sleepless child", "the owl", "the baker", "the poet", "the lonely driver", "Noor", "the cat"],
        things=["candle", "moon", "shadow", "lamp", "dream", "star", "door", "clock", "blanket", "window", "lantern", "story|stories"],
        places=["in the dark", "under the moon", "by the window", "on the empty road", "in the attic", "beneath the stars"],
        vt=["light/lit", "watch", "follow", "hear/heard", "open", "close", "remember", "dream+of", "count", "guard", "chase", "whisper"],
        vi=["slept", "waited", "dreamed", "listened", "shivered", "wandered"],
        adj=["dark", "silent", "cold", "pale", "quiet", "soft", "lonely", "deep"],
    ),
    "art": dict(
        people=["the painter", "the sculptor", "a young artist", "the museum guard", "the photographer", "the critic", "Frida", "the potter"],
        things=["canvas|canvases", "brush|brushes", "statue", "portrait", "colour", "vase", "sketch|sketches", "frame", "clay pot", "mural", "gallery|galleries", "painting"],
        places=["in the studio", "at the gallery", "by the easel", "in the museum", "on the wall", "at the art school"],
        vt=["paint", "carve", "sketch", "frame", "admire", "sell/sold", "hang/hung", "shape", "mix", "study/studied", "finish", "restore"],
        vi=["worked", "paused", "smiled", "stared", "dreamed", "waited"],
        adj=["bright", "strange", "beautiful", "unfinished", "bold", "delicate", "dark", "vivid"],
    ),
    "mountain": dict(
        people=["the climber", "the guide", "a mountain goat", "the shepherd", "the old monk", "the skier", "Pema", "the rescue team"],
        things=["rope", "peak", "glacier", "tent", "ice axe", "boulder", "path", "snowfield", "flag", "summit", "cliff", "storm"],
        places=["on the ridge", "above the clouds", "at base camp", "near the summit", "in the valley", "beside the glacier"],
        vt=["climb", "cross", "reach", "carry", "pitch", "fix", "plant", "spot/spotted/spotting", "follow", "descend", "fear", "admire"],
        vi=["rested", "slipped", "waited", "breathed", "climbed", "shivered"],
        adj=["steep", "icy", "high", "thin", "white", "dangerous", "vast", "silent"],
    ),
    "office": dict(
        people=["the manager", "the new intern", "the accountant", "my colleague", "the boss", "the receptionist", "Daniel", "the designer"],
        things=["report", "meeting", "email", "deadline", "spreadsheet", "printer", "coffee machine|coffee machines", "contract", "phone call", "plan", "budget", "presentation"],
        places=["at the office", "in the meeting room", "by the printer", "at her desk", "on the third floor", "in the lobby"],
        vt=["write/wrote/writing", "send/sent", "read/read", "finish", "sign", "print", "delay", "review", "forget/forgot/forgetting", "present", "approve", "cancel/cancelled/cancelling"],
        vi=["sighed", "waited", "typed", "argued", "yawned", "hurried"],
        adj=["urgent", "long", "boring", "late", "important", "difficult", "quiet", "busy"],
    ),
    "garden": dict(
        people=["the gardener", "my neighbour", "a small bird", "the bee", "Grandpa", "the children", "Rosa", "the old woman"],
        things=["rose", "seed", "watering can", "tulip", "vegetable patch|vegetable patches", "hedge", "butterfly|butterflies", "sunflower", "spade", "snail", "bench|benches", "pond"],
        places=["in the garden", "by the greenhouse", "under the apple tree", "along the path", "near the pond", "behind the hedge"],
        vt=["water", "plant", "trim/trimmed/trimming", "pick", "dig/dug/digging", "smell", "watch", "protect", "grow/grew", "notice", "move", "rake"],
        vi=["bloomed", "buzzed", "rested", "hummed", "waited", "smiled"],
        adj=["green", "bright", "fragrant", "tiny", "wild", "sunny", "overgrown", "neat"],
    ),
}

# Moods: how a sentence feels. Calm and tense matter most: the contrast sets use them.
MOODS = {
    "calm": dict(adj=["calm", "peaceful", "content", "relaxed", "serene", "at ease"], adv=["slowly", "gently", "softly", "quietly", "patiently", "calmly"],
                 excl=["How lovely", "What a quiet day", "All is well", "Take your time", "There is no hurry"], feel=["calm", "rested", "safe", "content"]),
    "joyful": dict(adj=["happy", "delighted", "cheerful", "glad", "thrilled", "joyful"], adv=["happily", "brightly", "eagerly", "merrily", "proudly", "warmly"],
                   excl=["Hooray", "What wonderful news", "We did it", "Look at that", "This is perfect"], feel=["happy", "proud", "excited", "lucky"]),
    "tense": dict(adj=["tense", "nervous", "uneasy", "alarmed", "restless", "on edge"], adv=["suddenly", "sharply", "urgently", "nervously", "hastily", "anxiously"],
                  excl=["Watch out", "Run", "Hurry up", "Something is wrong", "Not again", "Stop right there"], feel=["afraid", "uneasy", "trapped", "nervous"]),
    "sad": dict(adj=["sad", "lonely", "gloomy", "heartbroken", "weary", "sorrowful"], adv=["sadly", "slowly", "wearily", "silently", "heavily", "softly"],
                excl=["It is over", "I miss you", "If only", "Nobody came", "It is too late"], feel=["lonely", "tired", "lost", "empty"]),
    "angry": dict(adj=["angry", "furious", "annoyed", "bitter", "fierce", "cross"], adv=["angrily", "loudly", "roughly", "coldly", "bitterly", "fiercely"],
                  excl=["That is enough", "How dare you", "Leave me alone", "This is unfair", "Get out"], feel=["angry", "cheated", "furious", "betrayed"]),
    "curious": dict(adj=["curious", "puzzled", "fascinated", "thoughtful", "intrigued", "amazed"], adv=["carefully", "curiously", "closely", "thoughtfully", "slowly", "keenly"],
                    excl=["What is this", "Look closer", "I wonder why", "How strange", "Tell me more"], feel=["curious", "puzzled", "amazed", "hopeful"]),
    "hopeful": dict(adj=["hopeful", "brave", "determined", "confident", "steady", "bright"], adv=["bravely", "steadily", "boldly", "firmly", "quietly", "gladly"],
                    excl=["We can try again", "Tomorrow will be better", "Keep going", "Almost there", "Do not give up"], feel=["hopeful", "brave", "ready", "strong"]),
    "fearful": dict(adj=["frightened", "scared", "terrified", "pale", "shaking", "timid"], adv=["fearfully", "quickly", "quietly", "shakily", "desperately", "blindly"],
                    excl=["Who is there", "Help me", "Did you hear that", "Do not open it", "Please hurry"], feel=["scared", "cold", "alone", "helpless"]),
}

TIMES = ["in the morning", "at dawn", "before lunch", "late at night", "on Sunday", "every autumn", "last winter", "at noon", "after the rain",
         "one summer evening", "on a Tuesday", "at sunset", "long ago", "the next day", "yesterday", "before dawn", "in early spring", "at midnight"]
NUMBERS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve", "twenty", "a hundred", "a dozen"]
HOURS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
DETS = ["the", "the", "a", "her", "his", "their", "my", "our", "one", "that"]
SAY = ["said", "whispered", "shouted", "asked", "replied", "muttered", "cried", "called"]
CONNECT = ["because", "although", "while", "until", "before", "after", "since", "as soon as"]
COMPARE = ["older", "smaller", "brighter", "heavier", "stranger", "quieter", "warmer", "louder", "darker", "lighter"]
NAMES = ["Mara", "Tomas", "Aiko", "Ravi", "Lena", "Oskar", "Amara", "Chen", "Sofia", "Yusuf", "Ines", "Noor", "Pema", "Daniel", "Rosa", "Ada", "Kofi", "Hana"]


def cap(s):
    return s[0].upper() + s[1:]


class Maker:
    def __init__(self, rng):
        self.r = rng

    # --- phrases ---
    def topic(self):
        name = self.r.pick(sorted(TOPICS))
        return TOPICS[name]

    def mood(self):
        return MOODS[self.r.pick(sorted(MOODS))]

    def subj(self, t):
        return self.r.pick(t["people"])

    def obj(self, t, adj_chance=0.4, mood=None):
        noun = singular(self.r.pick(t["things"]))
        if self.r.chance(adj_chance):
            words = t["adj"] + (mood["adj"][:3] if mood else [])
            noun = self.r.pick(words) + " " + noun
        det = self.r.pick(DETS)
        if det == "a":
            return article(noun)
        return det + " " + noun

    def objs(self, t):
        return plural(self.r.pick(t["things"]))

    def verb(self, t, kind="vt"):
        return Verb(self.r.pick(t[kind])) if kind == "vt" else self.r.pick(t[kind])

    def clause_past(self, t, m):
        s = self.subj(t)
        if self.r.chance(0.5):
            return f"{s} {self.verb(t).form('past')} {self.obj(t, mood=m)}"
        return f"{s} {self.verb(t, 'vi')} {self.r.pick(t['places'])}"

    # --- sentence shapes ---
    def s_simple(self, t, m):
        return f"{cap(self.subj(t))} {self.verb(t).form('past')} {self.obj(t, mood=m)} {self.r.pick(t['places'])}."

    def s_time_first(self, t, m):
        return f"{cap(self.r.pick(TIMES))}, {self.subj(t)} {self.verb(t, 'vi')} {self.r.pick(m['adv'])} {self.r.pick(t['places'])}."

    def s_question_why(self, t, m):
        return f"Why did {self.subj(t)} {self.verb(t).form('base')} {self.obj(t)} {self.r.pick(TIMES)}?"

    def s_question_ever(self, t, m):
        return f"Have you ever seen {self.r.pick(['so many', 'such', 'any', 'those'])} {self.r.pick(t['adj'])} {self.objs(t)} {self.r.pick(t['places'])}?"

    def s_dialogue(self, t, m):
        line = self.r.pick(m["excl"])
        end = "?" if line.startswith(("Who", "What is", "Did", "How dare")) and not line.startswith("What a") else "!" if self.r.chance(0.5) else ","
        if end == "?":
            return f"\"{line}?\" {self.r.pick(SAY)} {self.subj(t)}."
        if end == "!":
            return f"\"{line}!\" {self.r.pick(SAY)} {self.subj(t)} {self.r.pick(m['adv'])}."
        return f"\"{line},\" {self.r.pick(SAY)} {self.subj(t)}, looking at {self.obj(t)}."

    def s_imperative(self, t, m):
        v = self.verb(t)
        tail = self.r.pick([f"before {self.r.pick(TIMES)}", self.r.pick(t["places"]), f"and then {Verb(self.r.pick(t['vt'])).form('base')} {self.obj(t)}", "right now", "for me, please"])
        return f"{cap(self.r.pick(m['adv']))} {v.form('base')} {self.obj(t)} {tail}."

    def s_conditional(self, t, m):
        a, b = self.subj(t), self.subj(t)
        return f"If {a} {self.verb(t).form('third')} {self.obj(t)}, {b} will {self.verb(t).form('base')} {self.obj(t)} {self.r.pick(TIMES)}."

    def s_compare(self, t, m):
        n1 = singular(self.r.pick(t["things"]))
        n2 = singular(self.r.pick(t["things"]))
        return f"The {n1} {self.r.pick(t['places'])} was {self.r.pick(COMPARE)} than the {n2}, {self.subj(t)} thought."

    def s_list(self, t, m):
        things = []
        while len(things) < 3:
            o = self.obj(t, adj_chance=0.3)
            if o not in things:
                things.append(o)
        return f"{cap(self.subj(t))} {self.verb(t).form('past')} {things[0]}, {things[1]} and {things[2]}."

    def s_number(self, t, m):
        return f"At {self.r.pick(HOURS)} o'clock, {self.r.pick(NUMBERS)} {self.objs(t)} lay {self.r.pick(t['places'])}, and {self.subj(t)} felt {self.r.pick(m['feel'])}."

    def s_negation(self, t, m):
        return f"{cap(self.subj(t))} did not {self.verb(t).form('base')} {self.obj(t)}, {self.r.pick(CONNECT)} {self.clause_past(t, m)}."

    def s_relative(self, t, m):
        return f"{cap(self.subj(t))}, who had {self.r.pick(['just', 'never', 'once', 'already'])} {self.verb(t).form('past')} {self.obj(t)}, {self.verb(t, 'vi')} {self.r.pick(t['places'])}."

    def s_feeling(self, t, m):
        return f"{cap(self.subj(t))} felt {self.r.pick(m['feel'])} as {self.clause_past(t, m)}."

    def s_progressive(self, t, m):
        return f"{cap(self.subj(t))} was {self.verb(t).form('ing')} {self.obj(t, mood=m)} when {self.clause_past(self.topic() if self.r.chance(0.2) else t, m)}."

    def s_short(self, t, m):
        return self.r.pick([
            f"It was {self.r.pick(m['adj'])}.",
            f"{self.r.pick(m['excl'])}!",
            f"The {singular(self.r.pick(t['things']))} was {self.r.pick(t['adj'])}.",
            f"{cap(self.subj(t))} {self.verb(t, 'vi')}.",
            f"Everyone felt {self.r.pick(m['feel'])}.",
        ])

    def s_present_habit(self, t, m):
        return f"Every day {self.subj(t)} {self.verb(t).form('third')} {self.obj(t)} {self.r.pick(t['places'])} and {self.r.pick(['hums a tune', 'says nothing', 'smiles at no one', 'counts to ten', 'thinks of home', 'looks at the sky'])}."

    def s_name_story(self, t, m):
        name = self.r.pick(NAMES)
        return f"{name} {self.verb(t).form('past')} {self.obj(t, mood=m)}, and {self.r.pick(['she', 'he', 'they'])} {self.r.pick(['felt', 'seemed', 'looked'])} {self.r.pick(m['adj'])} {self.r.pick(TIMES)}."

    def s_future(self, t, m):
        return f"Tomorrow {self.subj(t)} will {self.verb(t).form('base')} {self.obj(t)} {self.r.pick(t['places'])}, {self.r.pick(['unless it rains', 'if there is time', 'no matter what', 'as promised', 'before anyone wakes up'])}."

    def s_two_topics(self, t, m):
        t2 = self.topic()
        return f"While {self.clause_past(t, m)}, {self.clause_past(t2, m)}."

    def s_wonder(self, t, m):
        return f"I wonder {self.r.pick(['whether', 'why', 'how', 'when'])} {self.subj(t)} {self.verb(t).form('past')} {self.obj(t)}."

    def s_there(self, t, m):
        return f"There {self.r.pick(['was', 'once was'])} {article(self.r.pick(t['adj']) + ' ' + singular(self.r.pick(t['things'])))} {self.r.pick(t['places'])}, and nobody knew {self.r.pick(['who owned it', 'where it came from', 'what it meant', 'how old it was'])}."


SHAPES = [name for name in dir(Maker) if name.startswith("s_")]


def generate(count, seed):
    rng = Rng(seed)
    maker = Maker(rng)
    seen = set()
    out = []
    attempts = 0
    while len(out) < count:
        attempts += 1
        if attempts > count * 50:
            raise SystemExit("make_corpus: could not find enough distinct sentences")
        t = maker.topic()
        m = maker.mood()
        shape = SHAPES[rng.below(len(SHAPES))]
        s = getattr(maker, shape)(t, m)
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=8000)
    ap.add_argument("--seed", type=int, default=2026)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("-o", default=os.path.join(here, "..", "data", "corpus", "sentences.txt"))
    a = ap.parse_args()
    lines = generate(a.count, a.seed)
    tmp = a.o + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for s in lines:
            f.write(s + "\n")
    os.replace(tmp, a.o)
    print(f"make_corpus: wrote {len(lines)} sentences to {os.path.normpath(a.o)}", file=sys.stderr)


if __name__ == "__main__":
    main()
