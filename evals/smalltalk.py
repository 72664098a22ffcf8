"""A generator of varied small talk: what customers say that is not worth remembering.

Greetings, weather, the week, opinions, feelings, sports and food chatter, thanks and
questions, built from templates and word lists with a seeded RNG, so a test or an eval can
ask for 2,000 different turns and get the same ones every time. None of it is a fact about
the speaker, a policy or an event the team should keep.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

_DAYS = ["Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "weekends", "Sundays"]
_DAY = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MOODS = ["rough", "long", "exhausting", "hectic", "slow", "crazy", "busy", "tough", "boring"]
_NICE = ["lovely", "great", "nice", "beautiful", "awful", "terrible", "gloomy", "perfect"]
_WEATHER = ["sunny", "rainy", "cold", "hot", "windy", "grey", "humid", "freezing", "mild"]
_THINGS = [
    "coffee",
    "pizza",
    "football",
    "the new season of that show",
    "traffic",
    "the news",
    "summer",
    "winter",
    "my commute",
    "this heat",
    "the holidays",
    "that movie",
    "the game last night",
    "tea",
    "basketball",
]
_OPINION = ["overrated", "the best", "so much fun", "too long", "amazing", "a bit much", "fine"]
_FEEL = ["tired", "happy", "excited", "a bit stressed", "sleepy", "glad", "bored", "hungry"]
_TEMPLATES = [
    "{Days} are always {mood}.",
    "{Days} are so {mood}, right?",
    "What a {nice} day it is today!",
    "It is so {weather} outside.",
    "The weather has been really {weather} lately.",
    "Ugh, it is {weather} again.",
    "I feel {feel} today.",
    "I am so {feel} this week.",
    "{Thing} is {opinion}.",
    "Honestly, {thing} is {opinion}.",
    "Did you see {thing}?",
    "How is your {day} going?",
    "Happy {day}!",
    "Hope you have a {nice} weekend!",
    "Thanks so much, you are {nice}!",
    "Hi there, how are you doing?",
    "Good morning! Lovely to chat again.",
    "Haha, that is funny.",
    "Oh well, such is life.",
    "Time flies, does it not?",
    "Can you believe it is already {day}?",
    "Nothing beats {thing} on a {weather} day.",
    "This week has been {mood}.",
    "It has been a {mood} {day}.",
    "Wow, {thing} was {opinion}.",
    "Everyone says {thing} is {opinion}.",
    "Sorry, I am just rambling.",
    "Anyway, enough about {thing}.",
    "Is it {weather} where you are too?",
    "{Day} mornings are the worst.",
    "Traffic was {mood} this morning.",
    "Life is {mood} sometimes.",
    "Ok, cool.",
    "Sure, no worries.",
    "Thank you, have a {nice} {day}!",
]


def small_talk(count: int, seed: int = 7) -> Iterator[str]:
    """`count` turns of small talk, varied and reproducible for a given `seed`."""
    rng = random.Random(seed)
    for _ in range(count):
        template = rng.choice(_TEMPLATES)
        day, thing = rng.choice(_DAY), rng.choice(_THINGS)
        days = rng.choice(_DAYS)
        text = template.format(
            Days=days.capitalize(),
            days=days,
            day=day,
            Day=day,
            mood=rng.choice(_MOODS),
            nice=rng.choice(_NICE),
            weather=rng.choice(_WEATHER),
            feel=rng.choice(_FEEL),
            thing=thing,
            Thing=thing[:1].upper() + thing[1:],
            opinion=rng.choice(_OPINION),
        )
        yield text
