"""``text.ads``: ad reads found in built transcripts (IoU >= 0.5), sponsors, codes, URLs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from cintel.analyzers.text.ads import TextAds, TextAdsConfig, TextAdsOutput, read_rules
from cintel.config import LLMSettings
from cintel.errors import BadInputError, ConfigError
from cintel.llm.provider import ChatRequest, ChatResponse
from cintel.llm.session import Budget, LLMSession
from cintel.testing import text_input, timed_document
from cintel.text.ad_reads import ReadRules, cue_score, find_ad_reads
from cintel.text.offers import find_codes, find_urls, follows_call, url_label
from cintel.text.sponsors import find_sponsor, introduced_sponsor, same_sponsor, sponsor_key


@dataclass(frozen=True)
class Read:
    style: str
    sponsor: str
    codes: tuple[str, ...]
    urls: tuple[str, ...]
    lines: tuple[str, ...]


def _read(style: str, sponsor: str, codes: str, urls: str, text: str) -> Read:
    return Read(
        style,
        sponsor,
        tuple(codes.split()),
        tuple(urls.split()),
        tuple(line.strip() for line in text.strip().splitlines()),
    )


READS = {
    "northwind": _read(
        "preroll",
        "Northwind Coffee",
        "",
        "northwindcoffee.com/morning",
        """
        This episode is brought to you by Northwind Coffee.
        Northwind roasts small batches of beans and ships them the same day.
        Go to northwind coffee dot com slash morning to get your first bag free.
    """,
    ),
    "brightpath": _read(
        "story+code",
        "Brightpath",
        "LEARN",
        "brightpath.com",
        """
        Today's sponsor is Brightpath, an online tutoring service.
        When my son was struggling with algebra last spring, we tried Brightpath.
        He got matched with a tutor within a day.
        Within a month his grades went from a D to a B, and he actually started to enjoy math.
        Brightpath tutors are vetted, and you can pick the times that fit your week.
        Visit brightpath dot com and use code LEARN for twenty percent off your first month.
    """,
    ),
    "kettleworks": _read(
        "url",
        "Kettleworks",
        "",
        "kettleworks.com",
        """
        Support for this podcast comes from Kettleworks.
        Kettleworks makes cast iron cookware that lasts for generations.
        Every pan comes seasoned and ready to use, straight out of the box.
        Learn more at kettleworks dot com.
    """,
    ),
    "veriguard": _read(
        "midroll+code+percent",
        "Veriguard VPN",
        "SAFE60",
        "veriguard.com/podcast",
        """
        Let's take a quick break to talk about our sponsor, Veriguard VPN.
        Every time you connect to public wifi at a cafe or an airport, your data is exposed.
        Veriguard encrypts everything you do online with one tap.
        It works on your phone, your laptop and even your TV.
        Right now our listeners get sixty percent off a two year plan.
        Go to veriguard dot com slash podcast and use promo code SAFE60 at checkout.
    """,
    ),
    "fieldnote": _read(
        "url",
        "Fieldnote",
        "",
        "fieldnotejournals.com",
        """
        Fieldnote journals are what I carry in my back pocket every single day.
        The paper takes any pen without bleeding through, even a fountain pen.
        Check them out at fieldnote journals dot com.
    """,
    ),
    "pelican": _read(
        "percent",
        "Pelican Meals",
        "",
        "pelicanmeals.com/cook",
        """
        This week's episode is sponsored by Pelican Meals.
        Pelican delivers fresh ingredients and simple recipes to your door every week.
        Dinner takes about twenty minutes, and there is almost no food waste.
        Get fifty percent off your first box at pelican meals dot com slash cook.
    """,
    ),
    "stacklane": _read(
        "checkout-code",
        "Stacklane",
        "STACK10",
        "stacklane.com",
        """
        Thanks to Stacklane for sponsoring this episode.
        Stacklane is the simplest way to build a website for your small business.
        Pick a template, drag in your photos, and you are online in an afternoon.
        Head to stacklane dot com for a free trial, and use STACK10 at checkout to save ten percent.
    """,
    ),
    "mossy": _read(
        "story",
        "Mossy",
        "",
        "mossy.com/sleep",
        """
        I want to tell you about Mossy, who are sponsoring today's show.
        For years I woke up with a sore back and blamed my age.
        Then I switched to a Mossy mattress, and the difference was obvious after the first week.
        It's firm where it needs to be and soft everywhere else.
        They give you a hundred nights to try it at home, and if you don't love it they pick it up.
        Go to mossy dot com slash sleep for two hundred dollars off.
    """,
    ),
    "harbor": _read(
        "literal-url",
        "Harbor Bank",
        "",
        "harborbank.com/open",
        """
        Support for the show comes from Harbor Bank.
        Harbor Bank offers checking accounts with no monthly fees and no minimum balance.
        Open an account in five minutes at harborbank.com/open.
    """,
    ),
    "quillsoft": _read(
        "preroll",
        "Quillsoft",
        "",
        "quillsoft.io",
        """
        This podcast is supported by Quillsoft, the writing app that checks your grammar.
        Try it free for thirty days at quillsoft dot io.
    """,
    ),
    "trueleaf": _read(
        "code",
        "Trueleaf Tea",
        "QUIET",
        "trueleaf.com",
        """
        Today's episode is brought to you by Trueleaf Tea.
        I drink their green tea every afternoon instead of a third coffee.
        It's grown on small farms and packed in compostable bags.
        Use code QUIET at trueleaf dot com to get fifteen percent off your order.
    """,
    ),
    "orbit": _read(
        "url",
        "Orbit Fitness",
        "",
        "orbitfitness.app",
        """
        Orbit Fitness is the app that builds a workout plan around your schedule.
        Ten minutes or an hour, it adapts to whatever time you have.
        I've been using it three times a week since January.
        Download it at orbit fitness dot app.
    """,
    ),
    "ashford": _read(
        "midroll",
        "Ashford Insurance",
        "",
        "ashford.com/save",
        """
        And now a word from our sponsor, Ashford Insurance.
        If you own a home, you know how confusing insurance quotes can be.
        Ashford compares over forty insurers in about two minutes and shows you the real price.
        People who switch save an average of four hundred dollars a year.
        Get your free quote at ashford dot com slash save.
        And now, back to the interview.
    """,
    ),
    "lumio": _read(
        "percent+code",
        "Lumio",
        "SUNRISE",
        "lumio.com",
        """
        This episode is sponsored by Lumio.
        Lumio makes a sunrise lamp that wakes you up with light instead of a noisy alarm.
        Listeners get twenty five percent off with code SUNRISE at lumio dot com.
    """,
    ),
    "paperleaf": _read(
        "story+code",
        "Paperleaf",
        "READMORE",
        "paperleaf.com",
        """
        Our sponsor today is Paperleaf.
        Every month Paperleaf sends me a book picked by a real bookseller, based on what I love.
        Last month it was a mystery set in Iceland that I never would have found on my own.
        My reading has honestly doubled since I signed up.
        Go to paperleaf dot com and enter code READMORE to get your first month free.
    """,
    ),
    "skyward": _read(
        "percent+literal-url",
        "Skyward",
        "",
        "skyward.com/deals",
        """
        Thanks again to Skyward for supporting the show.
        Skyward finds cheap flights and sends you an alert when prices drop.
        Members save an average of three hundred dollars per ticket.
        Sign up at skyward.com/deals and get thirty percent off your first year of premium.
    """,
    ),
    "cobalt": _read(
        "preroll",
        "Cobalt",
        "",
        "cobaltrazor.com",
        """
        This episode is brought to you by Cobalt.
        Cobalt razors have five blades and a lifetime warranty on the handle.
        Get your starter kit for just five dollars at cobalt razor dot com.
    """,
    ),
    "nimbus": _read(
        "literal-url-only",
        "Nimbus",
        "",
        "nimbus.io/podcast",
        """
        Nimbus keeps every photo and document you own backed up automatically.
        If your laptop dies tomorrow, nothing is lost, and you can get it all back in minutes.
        Try it at nimbus.io/podcast.
    """,
    ),
    "redwood": _read(
        "story+code+percent",
        "Redwood Pet",
        "BISCUIT",
        "redwoodpet.com",
        """
        Quick thanks to Redwood Pet for sponsoring this episode.
        Our dog Biscuit is the pickiest eater I have ever met.
        Redwood makes fresh dog food from real meat and vegetables, portioned for your dog's size.
        Biscuit cleaned his bowl the first night, which has never happened before.
        Use code BISCUIT for forty percent off your first order at redwood pet dot com.
    """,
    ),
    "atlas": _read(
        "percent",
        "Atlas",
        "",
        "atlaslanguages.com",
        """
        Today's sponsor is Atlas, the language app that teaches you through real conversations.
        Fifteen minutes a day and I can finally order dinner in Spanish without pointing.
        Get sixty percent off an annual subscription at atlas languages dot com.
    """,
    ),
    "sparrow": _read(
        "show-notes",
        "Sparrow",
        "",
        "",
        """
        This show is sponsored by Sparrow.
        Sparrow makes sneakers from recycled plastic bottles, and they're the comfiest shoes I own.
        They are machine washable too.
        The link is in the show notes, and you get free shipping on your first pair.
    """,
    ),
    "bluebird": _read(
        "code+url",
        "Bluebird Mobile",
        "CHAT",
        "bluebirdmobile.com/chat",
        """
        This episode is also sponsored by Bluebird Mobile.
        Bluebird gives you unlimited talk and text for fifteen dollars a month on a major network.
        Switching takes five minutes and you keep your number.
        Go to bluebird mobile dot com slash chat and use code CHAT for your first month free.
    """,
    ),
}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().splitlines()]


CONTENT = {
    "space": _lines("""
        So the story everyone is talking about this week is the asteroid sample.
        The capsule landed in the desert on Sunday morning after a seven year trip.
        Inside there is about two hundred grams of rock and dust.
        That doesn't sound like much, but it is the largest sample ever brought back.
        Scientists think it holds material older than the Earth itself.
        Some of the grains may contain water locked inside minerals.
        And if that is true, it tells us something about where our oceans came from.
        The lab that opens it had to be built so clean that even a fingerprint would ruin it.
        They will share pieces with teams all over the world.
        I find it amazing that we can touch something that formed before the planets.
        Next month we will have the mission's lead scientist on the show.
    """),
    "history": _lines("""
        Today we are going back to the winter of sixteen sixty six in London.
        The plague had barely ended when the great fire started in a bakery on Pudding Lane.
        It burned for four days and destroyed most of the medieval city.
        Surprisingly, only a handful of deaths were recorded, though historians doubt that.
        The mayor was woken up and famously said the fire was nothing to worry about.
        Samuel Pepys buried his cheese and wine in his garden to save them.
        After the fire, Christopher Wren drew a plan for a completely new city.
        It was never built, because landowners rebuilt on their old plots instead.
        But Wren did design fifty one new churches, including Saint Paul's.
        The monument to the fire still stands near the spot where it began.
    """),
    "sports": _lines("""
        Welcome back, we are joined today by a former marathon runner turned coach.
        She ran her first marathon at nineteen without any real training plan.
        Her coach at the time told her she was wasting her talent on short races.
        So she moved up to the marathon and finished fourth at the national championships.
        Injuries were the hardest part of her career, especially a stress fracture in her foot.
        She spent a whole year cross training in a pool, running in deep water.
        Now she coaches teenagers and says the most important skill is patience.
        Most young runners train too hard on easy days and too easy on hard days.
        She also believes sleep matters more than any shoe or supplement.
        We talked about her plans to run one more race in the mountains next year.
    """),
    "garden": _lines("""
        This week in the garden we are talking about tomatoes, because it is finally warm enough.
        The biggest mistake people make is planting them out too early.
        Tomatoes hate cold nights, and a single frost can kill a young plant.
        I like to plant them deep, right up to the first set of leaves.
        The buried stem grows extra roots, which makes the plant much stronger.
        Water at the base in the morning and try to keep the leaves dry.
        Pinch out the side shoots if you are growing the tall varieties.
        A listener wrote in to ask about yellow leaves at the bottom of the plant.
        That is usually nothing to worry about, the plant is just shedding old leaves.
        Next week we will look at growing beans up a simple bamboo frame.
    """),
    "tech": _lines("""
        Let's talk about the new phone chips that were announced this week.
        The headline is that they are faster and use less power, as always.
        What is actually interesting is the part of the chip built for machine learning.
        It can run small language models on the phone without sending anything to a server.
        That matters for privacy, because your messages never leave the device.
        Battery life is the open question, since these models are hungry.
        Reviewers will have the phones in a couple of weeks, so we will know more then.
        I am also curious whether developers will actually use these features.
        Historically a lot of special hardware sat unused for years.
        We will come back to this once the first real apps are out.
    """),
    "music": _lines("""
        Our guest today recorded her first album in a converted church in the countryside.
        She says the natural echo of the stone walls shaped every song on the record.
        Most of it was recorded live, with the whole band playing in one room.
        There are mistakes on the album and she decided to keep them.
        She grew up listening to her father's folk records and later discovered jazz.
        The title track started as a voice memo she recorded on a train.
        It took two years to finish the lyrics because she kept rewriting the last verse.
        The album comes out in the autumn and she will tour small venues first.
        She prefers rooms where she can see the faces of everyone in the audience.
        We finished by talking about the instruments she collects from flea markets.
    """),
    "health": _lines("""
        Today's topic is sleep, and why so many of us are getting it wrong.
        Adults need somewhere between seven and nine hours, and most people get less.
        One of the biggest problems is the light from screens late in the evening.
        Our bodies use darkness as a signal to start producing melatonin.
        Caffeine stays in your system for much longer than people think.
        A coffee at four in the afternoon can still affect you at midnight.
        Keeping the same wake up time every day seems to matter most.
        Even on weekends, sleeping in for hours can throw off your rhythm.
        The doctor we spoke to also recommends a cool, dark bedroom.
        And if you can't sleep after twenty minutes, get up and read something boring.
    """),
    "travel": _lines("""
        This week we are in Lisbon, which is one of my favourite cities to walk around.
        The city is built on seven hills, so bring comfortable shoes.
        The old trams are charming but very crowded in the summer.
        We spent a morning in the Alfama district, getting lost in the narrow streets.
        In the evening we found a tiny restaurant where a woman sang fado.
        The custard tarts are famous for a reason, and we ate far too many.
        A day trip to Sintra is worth it, although the palaces get very busy.
        If you go, try to arrive early before the tour buses.
        The light in Lisbon at sunset makes everything look golden.
        Next episode we take the train north to Porto.
    """),
    "books": _lines("""
        This month our book club read a novel about a lighthouse keeper in Scotland.
        It is set in the nineteen twenties and told through his letters to his sister.
        Nothing much happens for the first hundred pages, and that is the point.
        The writing slowly makes you feel the isolation of the island.
        Then a shipwreck brings a stranger to the island, and everything changes.
        Some of our members found the ending too quiet.
        I loved it, because it trusts the reader to fill in the gaps.
        The author spent a winter on a real island to research the book.
        We also talked about other novels told entirely in letters.
        Next month we are reading a science fiction novel set on a generation ship.
    """),
    "pets": _lines("""
        Today we are answering listener questions about adopting a rescue dog.
        The first few weeks are an adjustment for everyone, including the dog.
        Many rescue dogs are nervous in a new home and need a quiet place of their own.
        Keep the routine simple, with walks and meals at the same times every day.
        Don't invite all your friends over in the first week.
        One listener asked how to stop her dog from pulling on the lead.
        The trick is to stop walking every time the lead goes tight.
        It takes patience, but most dogs learn it within a couple of weeks.
        Another listener asked whether an older dog can learn new tricks.
        Absolutely, older dogs are often calmer and easier to train.
    """),
    "language": _lines("""
        Learning a language as an adult is hard, but it is not impossible.
        Our guest learned Japanese in her forties after moving to Osaka for work.
        She says the first six months were humbling, because she couldn't even buy bread.
        What helped most was speaking every day, even badly.
        She kept a notebook of phrases she heard in shops and on the train.
        Grammar books helped later, once she had a feel for how people actually talk.
        Her advice is to stop worrying about mistakes, because native speakers don't care.
        Children learn by listening for years before they speak, she reminded us.
        She now works as a translator and still learns new words every week.
        We ended with her favourite Japanese word, which means the light through leaves.
    """),
    "cooking": _lines("""
        Tonight we are making a simple risotto, which is less fussy than people think.
        Start by warming your stock in a separate pan so it stays hot.
        Soften an onion in butter, then add the rice and toast it for a minute.
        A splash of white wine goes in next, and you let it bubble away.
        Then add the stock one ladle at a time, stirring now and then.
        You don't need to stir constantly, whatever the old cookbooks say.
        After about eighteen minutes, the rice should be soft with a little bite.
        Take it off the heat and beat in more butter and a lot of parmesan.
        Let it rest for two minutes with the lid on before serving.
        Next week we'll try a mushroom version with dried porcini.
    """),
}

# Episodes with no ads, full of the words ads use: companies, websites, codes, discounts.
NO_AD_EPISODES = {
    "tech-news": _lines("""
        Apple announced its quarterly results yesterday and sales were down slightly.
        Google is facing another antitrust case in Europe over its advertising business.
        I read the full ruling on the commission's website, ec dot europa dot eu, and it is long.
        Microsoft said the new version of its office software will offer a free trial to schools.
        Teachers we talked to were sceptical, because free trials usually end in a bill.
        Meanwhile a startup in Berlin raised forty million euros for battery recycling.
        Their founder said the company is the largest recycler of its kind in Europe.
        The market for used batteries is expected to grow fast over the next decade.
        That's it for the news, let's move on to our main interview.
    """),
    "programming": _lines("""
        Today we're talking about code review and why most teams do it badly.
        When you review code, you should start with the design, not the variable names.
        Our guest says his team uses code owners so every change gets the right reviewer.
        He also thinks pull requests should be small, under four hundred lines.
        Big changes get rubber stamped because nobody can hold them in their head.
        We talked about whether tools can write code for you, and he is cautious.
        Generated code still needs someone who understands it when it breaks at night.
        His blog, at jamesbuilds dot dev, has a long post about review checklists.
        He ended by saying that kindness in reviews matters more than cleverness.
    """),
    "history-expedition": _lines("""
        The voyage was sponsored by the king of Portugal, who wanted a sea route to India.
        Vasco da Gama left Lisbon in the summer of fourteen ninety seven with four ships.
        The crew sailed far out into the Atlantic to catch the winds around Africa.
        Many sailors died of scurvy long before they reached the Indian Ocean.
        In Calicut the local ruler was not impressed by the gifts they had brought.
        Still, the spices they carried home sold for sixty times the cost of the trip.
        Today you can see the ships' logs described on the national archive's website.
        The museum in Belem has a full exhibition about the voyage this year.
        Tickets are twenty percent cheaper on weekday mornings, if you're planning a visit.
    """),
    "shopping-chat": _lines("""
        My sister and I spent Saturday at the outlet mall looking for a new winter coat.
        Everything seemed to be thirty percent off, which makes you wonder about the real price.
        She found a wool coat from a brand I had never heard of, and it fits her perfectly.
        I bought nothing, as usual, because I can never decide.
        We had lunch at a noodle place that a friend recommended.
        The owner told us he used to work as an engineer before opening the restaurant.
        On the way home we talked about how much time people spend comparing prices online.
        I think I spent an hour reading reviews on amazon dot com for a kettle last week.
        In the end I bought the cheapest one and it works fine.
    """),
}


@dataclass
class Episode:
    name: str
    parts: list[str | Read]


def _episodes() -> list[Episode]:
    r, c = READS, CONTENT
    return [
        Episode("e1", [r["northwind"], *c["space"][:6], r["veriguard"], *c["space"][6:]]),
        Episode("e2", [*c["cooking"][:5], r["brightpath"], *c["cooking"][5:]]),
        Episode(
            "e3",
            [
                r["quillsoft"],
                *c["history"][:5],
                r["kettleworks"],
                *c["history"][5:],
                r["stacklane"],
            ],
        ),
        Episode("e4", [*c["sports"][:4], r["ashford"], *c["sports"][4:]]),
        Episode("e5", [r["cobalt"], *c["garden"][:6], r["fieldnote"], *c["garden"][6:]]),
        Episode("e6", [*c["tech"][:3], r["pelican"], *c["tech"][3:8], r["harbor"], *c["tech"][8:]]),
        Episode("e7", [r["trueleaf"], *c["music"][:5], r["orbit"], *c["music"][5:]]),
        Episode("e8", [*c["health"][:5], r["lumio"], r["bluebird"], *c["health"][5:]]),
        Episode("e9", [*c["travel"][:6], r["skyward"], *c["travel"][6:]]),
        Episode("e10", [r["paperleaf"], *c["books"][:5], r["nimbus"], *c["books"][5:]]),
        Episode("e11", [*c["pets"][:4], r["redwood"], *c["pets"][4:], r["sparrow"]]),
        Episode("e12", [r["atlas"], *c["language"][:5], r["mossy"], *c["language"][5:]]),
    ]


# A second set, written after the analyzer was tuned on the first. Its first batch (h1-h5),
# measured before any change, gave P=1.00 R=0.80 F1=0.89 (two misses: a "thank our partner ...
# for making this episode possible" read and a lower-case transcript), which led to two
# general fixes; the third batch (f1, f2) is described below.
HELD_READS = {
    "glowbird": _read(
        "no-intro-phrase",
        "Glowbird",
        "",
        "glowbird.app/budget",
        """
        Hey everyone, before we get going,
        I want to thank our partner Glowbird for making this episode possible.
        Glowbird is a budgeting app that sorts your spending automatically.
        I finally know where my money goes every month.
        New users get three months free at glowbird dot app slash budget.
    """,
    ),
    "coldcraft": _read(
        "code",
        "Coldcraft",
        "BREW",
        "coldcraft.com",
        """
        This episode is presented by Coldcraft.
        Coldcraft makes cold brew concentrate that you just mix with water or milk.
        A bottle lasts me about two weeks, and it tastes better than the coffee shop.
        Use code BREW at coldcraft dot com for a free bottle with your first order.
    """,
    ),
    "ridgeline": _read(
        "lowercase-asr",
        "Ridgeline Outdoor",
        "RAIN",
        "ridgelineoutdoor.com/rain",
        """
        this podcast is sponsored by ridgeline outdoor.
        ridgeline makes rain jackets that actually breathe, so you don't end up soaked inside.
        i wore mine on a week of hiking in scotland and stayed completely dry.
        go to ridgeline outdoor dot com slash rain and use code rain for fifteen percent off.
    """,
    ),
    "halvorsen": _read(
        "npr",
        "Halvorsen Foundation",
        "",
        "halvorsen.org",
        """
        Support for this program comes from the Halvorsen Foundation,
        supporting science journalism for over thirty years.
        Learn more about their work at halvorsen dot org.
    """,
    ),
    "steadfast": _read(
        "story-percent",
        "Steadfast",
        "",
        "steadfastdesks.com",
        """
        Okay, quick break.
        You know I've been complaining about my back for months.
        Well, a few weeks ago I got a Steadfast standing desk, and it has changed how I work.
        It goes from sitting to standing with one button, and it remembers my heights.
        Steadfast is offering our listeners fifteen percent off at steadfast desks dot com.
        Okay, back to the show.
    """,
    ),
    "pinecrest": _read(
        "preroll",
        "Pinecrest Wealth",
        "",
        "pinecrest.com/start",
        """
        Today's show is brought to you by Pinecrest Wealth.
        Investing can feel intimidating, but Pinecrest builds you a portfolio based on your goals.
        There are no trading fees, and you can start with just ten dollars.
        Sign up at pinecrest dot com slash start.
    """,
    ),
    "marlow": _read(
        "literal-url-code",
        "Marlow",
        "SLEEPWELL",
        "marlowhome.com",
        """
        Thanks to our friends at Marlow for sponsoring today's episode.
        Marlow makes linen sheets that get softer with every wash.
        Head to marlowhome.com and use the code SLEEPWELL to get twenty percent off.
    """,
    ),
    "tidewater": _read(
        "postroll",
        "Tidewater Tickets",
        "TIDE",
        "tidewater.com",
        """
        This episode was sponsored by Tidewater Tickets.
        Find concerts, games and shows near you,
        and get ten dollars off your first order with promo code TIDE at tidewater dot com.
    """,
    ),
    "fernway": _read(
        "short",
        "Fernway",
        "BLOOM",
        "fernway.com",
        """
        Our sponsor this week is Fernway, the easiest way to send flowers to someone you love.
        Use code BLOOM at fernway dot com for twenty percent off any bouquet.
    """,
    ),
    "quarry": _read(
        "npr-variant",
        "Quarry",
        "",
        "quarry.io/pod",
        """
        Support for the podcast also comes from Quarry, the password manager I trust.
        Quarry stores your passwords and fills them in for you on every device.
        Start your free trial at quarry dot io slash pod.
    """,
    ),
    # A third, conversational batch (f1, f2) measured once before any change: P=0.75 R=0.75
    # (the long Hollis story was found only at its end); intro-to-call-to-action pairing fixed it.
    "hollis": _read(
        "long-host",
        "Hollis",
        "",
        "hollis.com/friends",
        """
        So, um, this week's episode is brought to you by Hollis.
        And I gotta be honest, I was skeptical about meal kits, like, really skeptical.
        My partner signed us up and I kind of rolled my eyes.
        But the first box came and everything was just, you know, pre portioned and labelled.
        We made this lemon chicken thing on a Tuesday night in like twenty five minutes.
        And the kids actually ate it, which, if you have kids, you know that's a miracle.
        We've been getting it for three months now and we waste way less food.
        You can skip weeks whenever you want, which is great when we travel.
        So yeah, if you want to try it, go to hollis dot com slash friends.
        That's hollis dot com slash friends for sixty percent off your first box.
    """,
    ),
    "zipline": _read(
        "app-store",
        "Zipline",
        "",
        "",
        """
        This episode is supported by Zipline, the app that makes splitting bills painless.
        Add an expense, and Zipline works out who owes what, no awkward math at dinner.
        Search for Zipline in the app store and get your first month of premium free.
    """,
    ),
    "corvid": _read(
        "interrupted",
        "Corvid",
        "CAW",
        "corvid.com",
        """
        Real quick, our sponsor today is Corvid.
        Corvid makes noise cancelling headphones, and I wore mine on a twelve hour flight.
        Honestly I slept through the whole thing.
        Ha, you sleep through everything.
        Fair, but this time it was the headphones. Use code CAW at corvid dot com for a free case.
    """,
    ),
    "terra": _read(
        "npr",
        "Terra Institute",
        "",
        "terrainstitute.org",
        """
        Support for this podcast comes from the Terra Institute, protecting wetlands since 1990.
        More information is available at terra institute dot org.
    """,
    ),
}
NEW_CONTENT = {
    "bees": _lines("""
    Today we are talking about bees, and not just honey bees.
    There are around twenty thousand species of bee, and most of them live alone.
    Many nest in the ground, in tiny holes you would never notice.
    Mason bees seal their nests with mud, which is where the name comes from.
    They are brilliant pollinators, better than honey bees for some fruit trees.
    You can help them by leaving a patch of bare soil in your garden.
    A bee hotel made of hollow stems works too, if you clean it every year.
    Pesticides remain the biggest threat, along with the loss of wild flowers.
    Our guest has counted bees in the same meadow for twenty years.
    She says the numbers dropped sharply after the meadow next door was ploughed.
  """),
    "chess": _lines("""
    This week we are talking about the world chess championship.
    The match went to a tie break after fourteen classical games.
    The challenger is only twenty one and learned the game on his phone.
    His opening preparation was extraordinary, according to every commentator.
    In game nine he sacrificed a rook and the whole chess world went silent.
    The champion defended for six hours and somehow held the draw.
    In the rapid games the younger player was simply faster.
    He said afterwards that he barely slept during the whole match.
    Online viewing numbers broke every record, which says a lot about the game's revival.
    Next year the women's championship will be held in the same city.
  """),
    "founder": _lines("""
    Our guest today founded Tallgrass, a company that makes electric tractors.
    Tallgrass is the first company to sell a fully electric tractor in Canada.
    She told us the first prototype caught fire in a barn during a demonstration.
    Farmers were sceptical until they saw how much they saved on diesel.
    The company now lets farmers try a tractor for a month before they buy it.
    She thinks the biggest challenge is charging out in the fields.
    Their research papers are all published on their website for anyone to read.
    She grew up on a farm and still drives a tractor at harvest every year.
    We ended by talking about what farming might look like in thirty years.
  """),
    "charity": _lines("""
    The food bank was founded by a retired teacher in her garage twelve years ago.
    Today it feeds about two thousand families a week.
    Donations were up twenty percent this winter, which the volunteers did not expect.
    The new warehouse was sponsored by a group of local businesses and a church.
    Volunteers sort donations every morning before the doors open.
    Most of the fresh food comes from supermarkets that would otherwise throw it away.
    You can find the opening hours on the city council's website.
    The founder says the hardest part is asking for help in the first place.
  """),
}


def _held_out_episodes() -> list[Episode]:
    r, c = HELD_READS, {**CONTENT, **NEW_CONTENT}
    return [
        Episode("h1", [r["glowbird"], *c["bees"][:5], r["coldcraft"], *c["bees"][5:]]),
        Episode("h2", [*c["chess"][:4], r["ridgeline"], *c["chess"][4:], r["tidewater"]]),
        Episode("h3", [r["halvorsen"], *c["travel"][:5], r["steadfast"], *c["travel"][5:]]),
        Episode(
            "h4", [*c["music"][:3], r["pinecrest"], *c["music"][3:7], r["marlow"], *c["music"][7:]]
        ),
        Episode("h5", [r["fernway"], *c["history"][:6], r["quarry"], *c["history"][6:]]),
        Episode("f1", [*c["bees"][:4], r["hollis"], *c["bees"][4:]]),
        Episode("f2", [r["zipline"], *c["chess"][:6], r["corvid"], *c["chess"][6:], r["terra"]]),
    ]


HELD_NO_AD = ["founder", "charity", "bees", "chess"]


@dataclass
class Gold:
    start: float
    end: float
    read: Read


def _build(episode: Episode) -> tuple[object, list[Gold]]:
    utterances: list[str] = []
    spans: list[tuple[int, int, Read]] = []
    for part in episode.parts:
        if isinstance(part, Read):
            spans.append((len(utterances), len(utterances) + len(part.lines) - 1, part))
            utterances += part.lines
        else:
            utterances.append(part)
    doc = timed_document(utterances)
    gold = [Gold(doc.blocks[a].start, doc.blocks[b].end, read) for a, b, read in spans]
    return doc, gold


def _iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def _norm(name: str | None) -> str:
    return "".join(ch for ch in (name or "").lower() if ch.isalnum())


def _sponsor_ok(predicted: str | None, gold: str) -> bool:
    """Right when equal, or when one is the other's leading words ("Veriguard" for
    "Veriguard VPN")."""
    if not predicted:
        return False
    p, g = predicted.lower().split(), gold.lower().split()
    return _norm(predicted) == _norm(gold) or p == g[: len(p)] or g == p[: len(g)]


@pytest.fixture(scope="module")
def analyzer() -> TextAds:
    a = TextAds({"llm": "off"})
    a.setup()
    return a


def _output(result: object) -> TextAdsOutput:
    value = result.value  # type: ignore[attr-defined]
    assert isinstance(value, TextAdsOutput)
    return value


def test_the_test_set_has_the_reads_it_claims() -> None:
    episodes = _episodes()
    reads = [p for e in episodes for p in e.parts if isinstance(p, Read)]
    assert len(episodes) >= 12 and len(reads) >= 20
    assert len({r.sponsor for r in reads}) == len(reads), "each read is used once"
    for episode in episodes:
        _, gold = _build(episode)
        for g in gold:
            assert 8 <= g.end - g.start <= 90, (g.read.sponsor, g.end - g.start)


def test_ad_reads_are_found_with_sponsors_codes_and_urls(analyzer: TextAds) -> None:
    episodes = _episodes()
    figures, notes = _evaluate(analyzer, episodes)
    report = _report("first set", len(episodes), figures)
    print(report + "".join(f"\n  {n}" for n in notes))
    message = report + "\n" + "\n".join(notes)
    assert figures["f1"] >= 0.9 and figures["precision"] >= 0.9, message
    assert figures["recall"] >= 0.85, message
    assert figures["sponsor"] >= 0.9 and figures["codes"] >= 0.9, message
    assert figures["urls"] >= 0.9, message


def _evaluate(analyzer: TextAds, episodes: list[Episode]) -> tuple[dict[str, float], list[str]]:
    tp = fp = fn = 0
    sponsor_ok = codes_ok = urls_ok = 0
    notes: list[str] = []
    for episode in episodes:
        doc, gold = _build(episode)
        out = _output(analyzer.analyze(text_input(doc)))  # type: ignore[arg-type]
        used: set[int] = set()
        for g in gold:
            best, best_iou = None, 0.0
            for index, ad in enumerate(out.ads):
                iou = _iou((ad.start, ad.end), (g.start, g.end))
                if index not in used and iou > best_iou:
                    best, best_iou = index, iou
            if best is None or best_iou < 0.5:
                fn += 1
                notes.append(f"{episode.name}: missed {g.read.sponsor} (best IoU {best_iou:.2f})")
                continue
            used.add(best)
            tp += 1
            ad = out.ads[best]
            sponsor_ok += _sponsor_ok(ad.sponsor, g.read.sponsor)
            codes_ok += set(ad.promo_codes) == set(g.read.codes)
            urls_ok += set(ad.urls) == set(g.read.urls)
            if not _sponsor_ok(ad.sponsor, g.read.sponsor):
                notes.append(f"{episode.name}: sponsor {ad.sponsor!r} for {g.read.sponsor!r}")
            if set(ad.promo_codes) != set(g.read.codes) or set(ad.urls) != set(g.read.urls):
                notes.append(f"{episode.name}: {g.read.sponsor} got {ad.promo_codes} {ad.urls}")
        extra = [ad for i, ad in enumerate(out.ads) if i not in used]
        fp += len(extra)
        notes += [f"{episode.name}: false ad {a.start}-{a.end} {a.sponsor}" for a in extra]
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    figures = {
        "reads": tp + fn,
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / max(precision + recall, 1e-9),
        "sponsor": sponsor_ok / max(tp, 1),
        "codes": codes_ok / max(tp, 1),
        "urls": urls_ok / max(tp, 1),
    }
    return figures, notes


def _report(name: str, episodes: int, f: dict[str, float]) -> str:
    return (
        f"text.ads, {name}: {episodes} transcripts, {int(f['reads'])} reads: "
        f"P={f['precision']:.2f} R={f['recall']:.2f} F1={f['f1']:.2f}; of reads found: "
        f"sponsor {f['sponsor']:.2f}, promo codes {f['codes']:.2f}, URLs {f['urls']:.2f}"
    )


def test_ad_reads_in_the_second_set(analyzer: TextAds) -> None:
    episodes = _held_out_episodes()
    figures, notes = _evaluate(analyzer, episodes)
    report = _report("second set", len(episodes), figures)
    print(report + "".join(f"\n  {n}" for n in notes))
    message = report + "\n" + "\n".join(notes)
    assert figures["f1"] >= 0.85 and figures["precision"] >= 0.9, message
    assert figures["sponsor"] >= 0.8 and figures["codes"] >= 0.8, message
    assert figures["urls"] >= 0.8, message
    for name in HELD_NO_AD:
        out = _output(analyzer.analyze(text_input(timed_document(NEW_CONTENT[name]))))
        assert out.count == 0, (name, out.ads)


def test_episodes_without_ads_have_none(analyzer: TextAds) -> None:
    for name, lines in NO_AD_EPISODES.items():
        out = _output(analyzer.analyze(text_input(timed_document(lines))))
        assert out.count == 0, (name, out.ads)
        assert out.total_seconds == 0 and out.share == 0
    for name, lines in CONTENT.items():
        out = _output(analyzer.analyze(text_input(timed_document(lines))))
        assert out.count == 0, (name, out.ads)


def test_a_short_explicit_read_is_kept(analyzer: TextAds) -> None:
    lines = [
        "Welcome back to the show. Today we talk about river sounds and how to record them.",
        "First, a word from our sponsor, Brightleaf Coffee.",
        "Use the promo code signal 20 at brightleaf dot com for 20% off.",
        "So, the first thing you need for river recordings is a good pair of waterproof boots.",
        "Then you look for a spot where the water falls over stones, not where it runs smooth.",
    ]
    doc = timed_document(lines, words_per_second=3.0)
    out = _output(analyzer.analyze(text_input(doc)))
    assert out.count == 1, out.ads
    ad = out.ads[0]
    assert ad.end - ad.start < 8.0  # under min_seconds: kept because it is explicit
    assert ad.sponsor == "Brightleaf Coffee" and ad.promo_codes == ["SIGNAL20"]
    assert ad.urls == ["brightleaf.com"]
    # the same length of sponsor talk without an introduction and a code or address is not
    vague = [*lines[:1], "Brightleaf Coffee is nice.", "They roast beans well, I hear.", *lines[3:]]
    assert _output(analyzer.analyze(text_input(timed_document(vague)))).count == 0


def test_output_totals_and_segments(analyzer: TextAds) -> None:
    doc, _ = _build(_episodes()[0])
    result = analyzer.analyze(text_input(doc))  # type: ignore[arg-type]
    out = _output(result)
    assert out.count == len(out.ads) == len(result.segments) == 2
    seconds = sum(a.end - a.start for a in out.ads)
    assert out.total_seconds == pytest.approx(seconds, abs=1e-3)
    duration = doc.blocks[-1].end  # type: ignore[attr-defined]
    assert out.share == pytest.approx(seconds / duration, abs=1e-3)
    for segment, ad in zip(result.segments, out.ads, strict=True):
        assert segment.label == "ad" and segment.start == ad.start and segment.end == ad.end
        assert segment.attrs["sponsor"] == ad.sponsor and segment.attrs["urls"] == ad.urls
        assert doc.text[ad.offset : ad.offset + ad.length] == segment.text  # type: ignore[attr-defined]
    assert out.ads[1].promo_codes == ["SAFE60"]


def test_plain_text_article() -> None:
    article = (
        "Ten years of keeping a paper diary taught me more than any app ever did. I started "
        "on a whim, with a cheap notebook from the supermarket.\n\n"
        "This post is sponsored by Inkwell Pens. Inkwell makes refillable fountain pens that "
        "write smoothly on any paper. Use code WRITE15 at inkwellpens.com for 15% off your "
        "first pen.\n\n"
        "Anyway, back to diaries. The habit stuck because I kept it small: three lines a "
        "night, no more. Some entries are boring, and those are often my favourites now."
    )
    a = TextAds({"llm": "off"})
    result = a.analyze(text_input(article))
    out = _output(result)
    assert out.count == 1
    ad = out.ads[0]
    assert ad.sponsor == "Inkwell Pens" and ad.promo_codes == ["WRITE15"]
    assert ad.urls == ["inkwellpens.com"]
    assert ad.start == ad.end == 0.0 and out.total_seconds == 0.0
    assert article[ad.offset : ad.offset + ad.length].startswith("This post is sponsored by")
    assert out.share == pytest.approx(ad.length / len(article), abs=1e-3)


def test_extraction_helpers() -> None:
    urls = [
        u.url
        for u in find_urls(
            "Go to better help dot com slash podcast, or visit www dot acme dot co dot uk, "
            "or https://www.Example.org/show-notes. I read it on nytimes dot com."
        )
    ]
    assert urls == ["betterhelp.com/podcast", "acme.co.uk", "example.org/show-notes", "nytimes.com"]
    assert [u.url for u in find_urls("Version 3.5 is out.")] == []
    assert find_codes("Use code pod20 at checkout, or promo code: SAVE-10.") == ["POD20", "SAVE-10"]
    # a spoken code split by speech recognition is put back together
    assert find_codes("Use the promo code signal 20 at brightleaf.com for 20% off.") == ["SIGNAL20"]
    # ... but not an amount or a count after the code
    amounts = "Use code PODCAST 20% off, or code DEAL 50 dollars off."
    assert find_codes(amounts) == ["PODCAST", "DEAL"]
    assert find_codes("We use code owners 2 times a day.") == []
    assert find_codes("Enter HELLO at checkout? No: use HELLO at checkout.") == ["HELLO"]
    assert find_codes("We review code at work and use code owners.") == []
    assert find_sponsor("This episode is brought to you by our friends at Acme Labs.", []) == (
        "Acme Labs"
    )
    assert find_sponsor("Thanks to Zest for sponsoring this episode.", []) == "Zest"
    assert find_sponsor("Get it at plumbly dot com today.", ["plumbly.com"]) == "Plumbly"


# ---- the library: cintel.text.offers, cintel.text.sponsors, cintel.text.ad_reads ----


def test_offers_codes_split_by_speech_recognition() -> None:
    # "SIGNAL20" heard as two words, even across an utterance break
    assert find_codes("Use the promo code signal\n\n20 at checkout.") == ["SIGNAL20"]
    assert find_codes("Enter discount code Pine 7 when you order.") == ["PINE7"]
    # after a bare "code" the number is not joined: only a named code is spoken in two
    assert find_codes("Use code PINE 7 days a week.") == ["PINE"]
    assert find_codes("Nothing to see here, 20 percent of the time.") == []


def test_offers_urls_spans_labels_and_calls() -> None:
    text = "Head to fieldnote journals dot com slash listen now. I read nytimes.com daily."
    urls = find_urls(text)
    assert [u.url for u in urls] == ["fieldnotejournals.com/listen", "nytimes.com"]
    assert text[urls[0].start : urls[0].stop] == "fieldnote journals dot com slash listen"
    assert text[urls[1].start : urls[1].stop] == "nytimes.com"
    assert [follows_call(text, u) for u in urls] == [True, False]
    assert url_label("shop.acme.co.uk/x") == "acme"
    assert url_label("fieldnotejournals.com/listen") == "fieldnotejournals"


def test_sponsors_names_and_introductions() -> None:
    assert find_sponsor("First, a word from our sponsor, Brightleaf Coffee.", []) == (
        "Brightleaf Coffee"
    )
    pitch = "Fieldnote is the notebook that survives the rain. Get yours at fieldnote dot com."
    assert find_sponsor(pitch, ["fieldnote.com"]) == "Fieldnote"
    # only a URL names it: the capitalised words that spell the URL's label
    assert find_sponsor("Get one at fieldnotejournals.com today.", ["fieldnotejournals.com"]) == (
        "Fieldnotejournals"
    )
    assert find_sponsor("We went to the beach and it rained.", []) is None
    assert introduced_sponsor("This episode is brought to you by Bluebird Mobile.") == (
        "bluebirdmobile"
    )
    assert introduced_sponsor("Bluebird Mobile has great coverage.") is None
    assert sponsor_key("Better Help!") == "betterhelp"
    assert same_sponsor("bluebird", "bluebirdmobile") and not same_sponsor("bluebird", "quillo")


def test_ad_reads_cues_and_rules() -> None:
    assert cue_score("Use code PODCAST at checkout for 20 percent off.") == 1.0
    assert cue_score("The river was cold.") == 0.0
    # a URL after "go to" is stronger evidence than one said in passing
    assert cue_score("Go to acme dot com.") > cue_score("I read acme dot com.") > 0.0
    assert read_rules(TextAdsConfig()) == ReadRules(), "the library's defaults are the analyzer's"
    assert read_rules(TextAdsConfig(max_gap=1, llm="off")).max_gap == 1


def test_find_ad_reads_splits_back_to_back_reads() -> None:
    lines = [
        "Today we are talking about bread and how long to let the dough rest.",
        "This episode is brought to you by Bluebird Mobile.",
        "Bluebird Mobile gives you unlimited talk and text for fifteen dollars a month.",
        "Go to bluebird mobile dot com slash bread and use code BREAD15 for your first month free.",
        "This episode is also sponsored by Quillo.",
        "Quillo is the note taking app that files your notes for you.",
        "Try it free for thirty days at quillo dot app.",
        "And now back to the show.",
        "So the dough needs at least twelve hours in a cold fridge before you shape it.",
        "After that you bake it hot, with steam for the first twenty minutes.",
    ]
    doc = timed_document(lines)
    asked: list[list[str]] = []

    def similarity(texts: Sequence[str]) -> np.ndarray:
        asked.append(list(texts))
        return np.zeros(len(texts))

    reads = find_ad_reads(doc, similarity=similarity)
    assert [(r.sponsor, r.codes, r.urls) for r in reads] == [
        ("Bluebird Mobile", ["BREAD15"], ["bluebirdmobile.com/bread"]),
        ("Quillo", [], ["quillo.app"]),
    ]
    assert doc.text[reads[0].offset : reads[0].stop].startswith("This episode is brought")
    assert doc.text[reads[1].offset : reads[1].stop].startswith("This episode is also")
    assert all(0.0 < r.score <= 1.0 for r in reads)
    assert len(asked) == 1 and len(asked[0]) == len(lines), "all near a cue, embedded at once"
    # ordinary talk alone has no reads, and nothing is embedded
    asked.clear()
    assert find_ad_reads(timed_document(lines[8:]), similarity=similarity) == []
    assert asked == []


# ---- LLM review, with a fake provider ----


class FakeProvider:
    name = "fake"
    model = "fake"

    def __init__(self, is_ad: bool) -> None:
        self.is_ad = is_ad
        self.seen: list[str] = []

    def complete(self, request: ChatRequest) -> ChatResponse:
        passage = request.messages[-1][1].split("Passage:\n", 1)[1].split("\n\nIs this", 1)[0]
        self.seen.append(passage.strip())
        answer = {"is_ad": self.is_ad, "sponsor": "Fake Sponsor", "confidence": 0.9}
        return ChatResponse(text=json.dumps(answer), tokens_in=500, tokens_out=20, model="fake")


def _session(provider: FakeProvider, budget: float | None = None) -> LLMSession:
    settings = LLMSettings(url="openai+http://127.0.0.1:9/v1", model="fake")
    return LLMSession(settings=settings, provider=provider, budget=Budget(budget))


def test_llm_reviews_candidates_only_and_falls_back() -> None:
    doc, _ = _build(_episodes()[0])
    a = TextAds({})
    a.setup()
    base = _output(a.analyze(text_input(doc)))  # type: ignore[arg-type]
    assert base.llm_reviewed == 0 and base.count == 2

    confirm = FakeProvider(True)
    item = text_input(doc)  # type: ignore[arg-type]
    item.llm = _session(confirm)
    out = _output(a.analyze(item))
    assert out.llm_reviewed == len(confirm.seen) >= 2
    assert all("dot com" in passage for passage in confirm.seen), "only candidate segments"
    assert [x.offset for x in out.ads] == [x.offset for x in base.ads]
    assert all(x.source == "llm" for x in out.ads)
    assert [x.sponsor for x in out.ads] == [x.sponsor for x in base.ads], "rules' names kept"

    reject = FakeProvider(False)
    item = text_input(doc)  # type: ignore[arg-type]
    item.llm = _session(reject)
    out = _output(a.analyze(item))
    assert out.count == 0 and out.llm_reviewed == len(reject.seen)

    spent = FakeProvider(False)
    item = text_input(doc)  # type: ignore[arg-type]
    item.llm = _session(spent, budget=0.0)
    out = _output(a.analyze(item))
    assert spent.seen == [] and out.llm_reviewed == 0
    assert out.llm_fallback is not None and "budget" in out.llm_fallback
    assert [x.offset for x in out.ads] == [x.offset for x in base.ads]

    off = TextAds({"llm": "off"})
    item = text_input(doc)  # type: ignore[arg-type]
    quiet = FakeProvider(False)
    item.llm = _session(quiet)
    assert _output(off.analyze(item)).count == 2 and quiet.seen == []


def test_bad_input_and_config() -> None:
    with pytest.raises(BadInputError):
        TextAds({"llm": "off"}).analyze(text_input(""))
    with pytest.raises(BadInputError):
        TextAds({"llm": "off"}).analyze(text_input("   \n\n  "))
    with pytest.raises(ConfigError):
        TextAds({"extend_score": 0.9, "start_score": 0.5})
