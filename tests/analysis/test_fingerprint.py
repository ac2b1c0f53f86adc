"""Near-duplicate stories: copies of one wire story group together, other stories don't.

The texts are written for these tests in the style of agency copy ("nbt" is a made-up
agency, the bylines and outlets are invented): three outlets' versions of the CSTO
withdrawal from Kazakhstan on 13 January 2022 (own headline, intro, credit line,
boilerplate, one rewritten sentence) in English and in German, and other stories
from the same days that share the names, the places and the topic.
"""

from __future__ import annotations

import itertools
import random

import pytest

from bot.analysis import fingerprint as fp_module
from bot.analysis.fingerprint import (
    EMPTY,
    NUM_PERM,
    THRESHOLD,
    distance,
    fingerprint,
    shingles,
)
from bot.core.normalize import words
from bot.pipeline.stories import StoryIndex

EN_WIRE = """Foreign troops start flying home from Kazakhstan

NUR-SULTAN/MOSCOW (nbt) - The first units of the Moscow-led CSTO mission left Kazakhstan on
Thursday, seven days after they landed. Russia's defence ministry said four Il-76 transport
planes carrying paratroopers had taken off for Ivanovo. Colonel General Andrei Serdyukov, who
commands the mission, said all of its tasks had been completed. Forces from Belarus, Armenia,
Kyrgyzstan and Tajikistan are due to be home within ten days as well. President Kassym-Jomart
Tokayev called in the alliance on January 5 as violent protests shook the country. The rallies
began in the western town of Zhanaozen after the price of car fuel gas almost doubled at the start
of the year. A few days later they reached Almaty, where demonstrators set government buildings
on fire. Tokayev ordered troops to shoot without warning and called the insurgents terrorists
directed from abroad. The latest government figures put the dead at 164, including police
officers and soldiers. The alliance's roughly 2,000 soldiers were sent to guard airports, power
plants and television stations. Critics in Kazakhstan had feared that Russia would be in no hurry
to pull its troops out again. The Kremlin rejected that, saying the mission had been temporary
from the start. Political scientists see Tokayev as the winner of the crisis: he sacked the
government, had intelligence chief Karim Massimov arrested and took over from Nursultan
Nazarbayev as head of the powerful Security Council. Parliament confirmed a new prime minister on
Tuesday. The next planes carrying returning troops are due to land in Russia on Friday, the
ministry in Moscow said.
"""

# Another outlet: own headline and intro, the agency body, the last two sentences cut, a byline.
EN_REWRITE = """Band plays, flag comes down: CSTO wraps up Kazakhstan mission

ALMATY, Jan 13 - A military band played and a flag was lowered before the transport planes began
to taxi: a week after Kazakhstan called for help, the allies' peacekeeping mission is over.
Colonel General Andrei Serdyukov, who commands the mission, said all of its tasks had been
completed. Forces from Belarus, Armenia, Kyrgyzstan and Tajikistan are due to be home within ten
days as well. President Kassym-Jomart Tokayev called in the alliance on January 5 as violent
protests shook the country. The rallies began in the western town of Zhanaozen after the price of
car fuel gas almost doubled at the start of the year. A few days later they reached Almaty, where
demonstrators set government buildings on fire. Tokayev ordered troops to shoot without warning
and called the insurgents terrorists directed from abroad. The latest government figures put the
dead at 164, including police officers and soldiers. The alliance's roughly 2,000 soldiers were
sent to guard airports, power plants and television stations. Critics in Kazakhstan had feared
that Russia would be in no hurry to pull its troops out again. The Kremlin rejected that, saying
the mission had been temporary from the start. Political scientists see Tokayev as the winner of
the crisis: he sacked the government, had intelligence chief Karim Massimov arrested and took
over from Nursultan Nazarbayev as head of the powerful Security Council.
Reporting by Dana Abenova; Writing by Peter Holm; Editing by Clara Wendt
"""

# A third outlet: site boilerplate around it, one sentence rewritten, a background outro.
EN_EDITED = """Kazakhstan: allied troops begin to leave
Advertisement
NUR-SULTAN/MOSCOW (nbt) - The first units of the Moscow-led CSTO mission left Kazakhstan on
Thursday, seven days after they landed. Russia's defence ministry said four Il-76 transport
planes carrying paratroopers had taken off for Ivanovo. Colonel General Andrei Serdyukov, who
commands the mission, said all of its tasks had been completed. Forces from Belarus, Armenia,
Kyrgyzstan and Tajikistan are due to be home within ten days as well. President Kassym-Jomart
Tokayev called in the alliance on January 5 as violent protests shook the country. The rallies
began in the western town of Zhanaozen after the price of car fuel gas almost doubled at the start
of the year. A few days later they reached Almaty, where demonstrators set government buildings
on fire. Tokayev ordered troops to shoot without warning and called the insurgents terrorists
directed from abroad. The health ministry now counts 164 dead, and police say close to 10,000
people have been detained across the country. The alliance's roughly 2,000 soldiers were sent to
guard airports, power plants and television stations. Critics in Kazakhstan had feared that Russia
would be in no hurry to pull its troops out again. The Kremlin rejected that, saying the mission
had been temporary from the start. Political scientists see Tokayev as the winner of the crisis:
he sacked the government, had intelligence chief Karim Massimov arrested and took over from
Nursultan Nazarbayev as head of the powerful Security Council. Six former Soviet republics have
belonged to the CSTO since 2002, and never before had it come to a member's aid with troops.
Sign up for our Central Asia newsletter
Copyright 2022 Steppe Daily. All rights reserved.
"""

# Same topic, same names, a different event.
EN_ARREST = """Kazakhstan detains former security chief Massimov on treason suspicion

Kazakhstan has detained Karim Massimov, the former head of its National Security Committee, on
suspicion of high treason, the committee said on Saturday, as President Kassym-Jomart Tokayev
moved against officials he blamed for failing to prevent a week of deadly unrest. Massimov, a
close ally of former president Nursultan Nazarbayev who twice served as prime minister, was
dismissed on Thursday, hours before troops from the Russian-led Collective Security Treaty
Organization began arriving at Tokayev's request. The committee gave no details of the
accusations. Tokayev has said that Almaty airport was seized by armed groups and that security
services had failed to warn of the threat, calling the violence an attempted coup. Fuel price
protests that began in the west of the country on January 2 spread to Almaty, where government
buildings were set on fire. Two deputy heads of the committee were also removed from their posts
on Saturday, state media reported. Russia, Belarus, Armenia, Kyrgyzstan and Tajikistan sent about
2,500 troops under the alliance's banner to guard strategic sites. The Kremlin said the mission
was temporary. Nazarbayev, 81, has not been seen in public since the protests began, and his
spokesman said on Saturday he was in the capital and in contact with Tokayev.
"""

EN_CABINET = """Tokayev names new prime minister, says CSTO mission has been accomplished

Kazakh President Kassym-Jomart Tokayev on Tuesday appointed Alikhan Smailov as prime minister
and told parliament that the Russian-led Collective Security Treaty Organization would begin
withdrawing its peacekeepers in two days because their main mission had been accomplished.
Smailov, who served as first deputy prime minister in the previous government, was approved by
lawmakers in an online session. Tokayev criticised his predecessor Nursultan Nazarbayev for the
first time, saying his rule had created a layer of wealthy people and a class of very profitable
companies, and called for a new social fund financed by businesses. He ordered the government to
freeze fuel prices and promised to review the privatisation of state assets. The president also
said the armed forces and the police needed new equipment after the unrest, in which government
buildings were stormed in several cities. Kazakhstan, the world's largest uranium producer and a
major oil exporter, has been rocked by the worst violence since independence in 1991. Western
governments have urged restraint and called for an investigation into the killings.
"""

DE_WIRE = """Kasachstan: Ausländische Truppen beginnen mit dem Rückflug

Nur-Sultan/Moskau (nbt) – Sieben Tage nach ihrer Landung haben die ersten Einheiten der von Moskau
geführten OVKS-Mission Kasachstan am Donnerstag wieder verlassen. Das russische
Verteidigungsministerium meldete, vier Maschinen vom Typ Il-76 seien mit Fallschirmjägern an
Bord in Richtung Iwanowo gestartet. Der Kommandeur der Mission, Generaloberst Andrej Serdjukow,
erklärte, alle Aufgaben seien erledigt. Innerhalb von zehn Tagen sollen auch die Kräfte aus
Belarus, Armenien, Kirgistan und Tadschikistan heimgekehrt sein. Präsident Kassym-Schomart
Tokajew hatte das Bündnis am 5. Jänner angerufen, als gewaltsame Proteste das Land
erschütterten. Begonnen hatten die Kundgebungen in der westkasachischen Stadt Schanaosen,
nachdem sich der Preis für Autogas zum Jahresbeginn fast verdoppelt hatte. Wenige Tage später
erfassten sie auch Almaty, wo Demonstranten Regierungsgebäude in Brand setzten. Tokajew ordnete
an, ohne Warnung zu schießen, und nannte die Aufständischen vom Ausland gesteuerte Terroristen.
Nach jüngsten Regierungsangaben starben 164 Menschen, darunter Polizisten und Soldaten. Die rund
2000 Soldaten der Allianz sollten Flughäfen, Kraftwerke und Fernsehsender schützen. Kritiker in
Kasachstan hatten befürchtet, Russland werde seine Truppen so bald nicht wieder abziehen. Der
Kreml wies das zurück, die Mission sei von Anfang an befristet gewesen. Politologen sehen Tokajew
als Gewinner der Krise: Er entließ die Regierung, ließ den Geheimdienstchef Karim Massimow
festnehmen und übernahm von Nursultan Nasarbajew den Vorsitz im mächtigen Sicherheitsrat. Das
Parlament bestätigte am Dienstag einen neuen Ministerpräsidenten. Die nächsten Flugzeuge mit
Heimkehrern sollen am Freitag in Russland landen, teilte das Ministerium in Moskau mit.
"""

# Another outlet: own headline and intro, the agency body, the last two sentences cut, a teaser.
DE_REWRITE = """Fallschirmjäger fliegen heim: OVKS beendet ihren Kasachstan-Einsatz

Almaty – Militärmusik, eine eingeholte Fahne, dann rollten die Transportflugzeuge an: Eine Woche
nach dem Hilferuf aus Kasachstan ist die Friedensmission der Verbündeten vorbei. Der Kommandeur
der Mission, Generaloberst Andrej Serdjukow, erklärte, alle Aufgaben seien erledigt. Innerhalb
von zehn Tagen sollen auch die Kräfte aus Belarus, Armenien, Kirgistan und Tadschikistan
heimgekehrt sein. Präsident Kassym-Schomart Tokajew hatte das Bündnis am 5. Jänner angerufen,
als gewaltsame Proteste das Land erschütterten. Begonnen hatten die Kundgebungen in der
westkasachischen Stadt Schanaosen, nachdem sich der Preis für Autogas zum Jahresbeginn fast
verdoppelt hatte. Wenige Tage später erfassten sie auch Almaty, wo Demonstranten
Regierungsgebäude in Brand setzten. Tokajew ordnete an, ohne Warnung zu schießen, und nannte die
Aufständischen vom Ausland gesteuerte Terroristen. Nach jüngsten Regierungsangaben starben 164
Menschen, darunter Polizisten und Soldaten. Die rund 2000 Soldaten der Allianz sollten
Flughäfen, Kraftwerke und Fernsehsender schützen. Kritiker in Kasachstan hatten befürchtet,
Russland werde seine Truppen so bald nicht wieder abziehen. Der Kreml wies das zurück, die
Mission sei von Anfang an befristet gewesen. Politologen sehen Tokajew als Gewinner der Krise:
Er entließ die Regierung, ließ den Geheimdienstchef Karim Massimow festnehmen und übernahm von
Nursultan Nasarbajew den Vorsitz im mächtigen Sicherheitsrat.
Lesen Sie auch: Wer in Kasachstan wirklich regiert
"""

# A third outlet: site boilerplate around it, one sentence rewritten, a background outro.
DE_EDITED = """OVKS zieht aus Kasachstan ab
Anzeige
Nur-Sultan/Moskau (nbt) – Sieben Tage nach ihrer Landung haben die ersten Einheiten der von Moskau
geführten OVKS-Mission Kasachstan am Donnerstag wieder verlassen. Das russische
Verteidigungsministerium meldete, vier Maschinen vom Typ Il-76 seien mit Fallschirmjägern an
Bord in Richtung Iwanowo gestartet. Der Kommandeur der Mission, Generaloberst Andrej Serdjukow,
erklärte, alle Aufgaben seien erledigt. Innerhalb von zehn Tagen sollen auch die Kräfte aus
Belarus, Armenien, Kirgistan und Tadschikistan heimgekehrt sein. Präsident Kassym-Schomart
Tokajew hatte das Bündnis am 5. Jänner angerufen, als gewaltsame Proteste das Land
erschütterten. Begonnen hatten die Kundgebungen in der westkasachischen Stadt Schanaosen,
nachdem sich der Preis für Autogas zum Jahresbeginn fast verdoppelt hatte. Wenige Tage später
erfassten sie auch Almaty, wo Demonstranten Regierungsgebäude in Brand setzten. Tokajew ordnete
an, ohne Warnung zu schießen, und nannte die Aufständischen vom Ausland gesteuerte Terroristen.
Das Gesundheitsministerium zählt inzwischen 164 Tote; die Polizei spricht von knapp 10.000
Festnahmen im ganzen Land. Die rund 2000 Soldaten der Allianz sollten Flughäfen, Kraftwerke und
Fernsehsender schützen. Kritiker in Kasachstan hatten befürchtet, Russland werde seine Truppen so
bald nicht wieder abziehen. Der Kreml wies das zurück, die Mission sei von Anfang an befristet
gewesen. Politologen sehen Tokajew als Gewinner der Krise: Er entließ die Regierung, ließ den
Geheimdienstchef Karim Massimow festnehmen und übernahm von Nursultan Nasarbajew den Vorsitz im
mächtigen Sicherheitsrat. Zur OVKS gehören seit 2002 sechs frühere Sowjetrepubliken; nie zuvor
hatte sie einem Mitglied militärisch beigestanden. (nbt/red)
Jetzt den Zentralasien-Newsletter abonnieren
© 2022 Abendpost. Alle Rechte vorbehalten.
"""

DE_ARREST = """Kasachstan: Früherer Geheimdienstchef Massimow wegen Hochverrats festgenommen

In Kasachstan ist der frühere Chef des Nationalen Sicherheitskomitees, Karim Massimow, wegen des
Verdachts auf Hochverrat festgenommen worden. Das teilte das Komitee am Samstag mit, ohne
Einzelheiten zu nennen. Präsident Kassym-Schomart Tokajew hatte Massimow, einen engen
Vertrauten von Altpräsident Nursultan Nasarbajew, am Donnerstag entlassen, wenige Stunden bevor
die ersten Soldaten des von Russland geführten Militärbündnisses OVKS im Land eintrafen. Tokajew
wirft den Sicherheitsbehörden vor, vor den Angriffen bewaffneter Gruppen auf den Flughafen von
Almaty und auf Verwaltungsgebäude nicht gewarnt zu haben. Massimow war zweimal Regierungschef
und galt als einer der mächtigsten Männer des Landes. Auch zwei seiner Stellvertreter wurden am
Samstag abgesetzt, wie Staatsmedien berichteten. Die Proteste hatten am 2. Januar im Westen des
Landes wegen höherer Gaspreise begonnen und sich dann auf Almaty ausgeweitet, wo Gebäude in
Brand gesetzt wurden. Russland, Belarus, Armenien, Kirgistan und Tadschikistan schickten rund
2500 Soldaten, die strategisch wichtige Einrichtungen schützen sollen. Der Kreml betonte, der
Einsatz sei nur vorübergehend. Nasarbajew ist seit Beginn der Proteste nicht mehr öffentlich
aufgetreten; sein Sprecher erklärte, der 81-Jährige halte sich in der Hauptstadt auf.
"""

EN_COPIES = (EN_WIRE, EN_REWRITE, EN_EDITED)
DE_COPIES = (DE_WIRE, DE_REWRITE, DE_EDITED)
OTHER_STORIES = (EN_ARREST, EN_CABINET, DE_ARREST)


def test_the_texts_are_wire_sized() -> None:
    for text in (*EN_COPIES, *DE_COPIES, *OTHER_STORIES):
        assert 150 <= len(text.split()) <= 300


@pytest.mark.parametrize("copies", [EN_COPIES, DE_COPIES], ids=["en", "de"])
def test_edited_copies_of_one_wire_story_are_close(copies: tuple[str, ...]) -> None:
    prints = [fingerprint(t) for t in copies]
    for a, b in itertools.combinations(prints, 2):
        assert distance(a, b) <= THRESHOLD - 10  # with a margin, not just under the line


def test_different_stories_on_the_same_topic_are_far_apart() -> None:
    pairs = [(copy, other) for copy in EN_COPIES + DE_COPIES for other in OTHER_STORIES]
    pairs += list(itertools.combinations(OTHER_STORIES, 2))
    for a, b in pairs:
        assert distance(fingerprint(a), fingerprint(b)) > THRESHOLD + 8, (a[:40], b[:40])
    # They do share names and phrases: the topic alone is what must not match.
    assert shingles(EN_WIRE) & shingles(EN_ARREST)
    assert {"kazakhstan", "tokayev", "collective", "csto"} <= set(words(EN_CABINET))
    assert {"kasachstan", "tokajew", "ovks", "nasarbajew"} <= set(words(DE_ARREST))


def test_a_translation_is_another_text() -> None:
    assert distance(fingerprint(EN_WIRE), fingerprint(DE_WIRE)) > THRESHOLD


def test_story_index_groups_copies_and_keeps_stories_apart() -> None:
    index: StoryIndex[str] = StoryIndex(
        [("csto-en", fingerprint(EN_WIRE)), ("massimov-en", fingerprint(EN_ARREST))]
    )
    assert index.match(fingerprint(EN_REWRITE)) == "csto-en"
    assert index.match(fingerprint(EN_EDITED)) == "csto-en"
    assert index.match(fingerprint(EN_CABINET)) is None
    assert index.match(fingerprint(DE_WIRE)) is None  # a translation is a story of its own

    # Arrival order does not matter, and each copy is recorded under its story.
    def assign(fp: int, new_id: str) -> str:  # what StoryGrouper.story_of does, minus the store
        story = index.match(fp)
        story = new_id if story is None else story
        index.add(story, fp)
        return story

    stories = [assign(fingerprint(t), f"new-{i}") for i, t in enumerate(ARRIVALS)]
    assert stories == [
        "new-0",  # DE_EDITED opens the German story
        "massimov-en",
        "new-0",  # DE_WIRE
        "new-3",  # EN_CABINET
        "new-4",  # DE_ARREST
        "new-0",  # DE_REWRITE
        "csto-en",  # EN_EDITED
    ]
    assert len(index) == 2 + len(ARRIVALS)


ARRIVALS = (DE_EDITED, EN_ARREST, DE_WIRE, EN_CABINET, DE_ARREST, DE_REWRITE, EN_EDITED)


def test_nearest_reports_the_distance_and_the_threshold_is_adjustable() -> None:
    index: StoryIndex[int] = StoryIndex([(1, fingerprint(EN_WIRE)), (2, fingerprint(EN_ARREST))])
    story, dist = index.nearest(fingerprint(EN_EDITED))
    assert story == 1 and dist == distance(fingerprint(EN_WIRE), fingerprint(EN_EDITED))
    strict: StoryIndex[int] = StoryIndex([(1, fingerprint(EN_WIRE))], threshold=dist - 1)
    assert strict.match(fingerprint(EN_EDITED)) is None


def test_fingerprints_are_deterministic_and_normalised() -> None:
    fp = fingerprint(EN_WIRE)
    assert fp == fingerprint(EN_WIRE)
    assert fp == fingerprint(EN_WIRE.upper().replace("\n", "  "))  # case and spacing folded
    assert distance(fp, fp) == 0
    assert 0 < fp < 1 << (32 * NUM_PERM)
    assert distance(fp, fingerprint(EN_ARREST)) == distance(fingerprint(EN_ARREST), fp)


def test_texts_without_shingles_match_nothing() -> None:
    assert fingerprint("") == EMPTY and fingerprint("Read more") == EMPTY
    index: StoryIndex[str] = StoryIndex([("empty", EMPTY), ("csto", fingerprint(EN_WIRE))])
    assert len(index) == 1
    assert index.match(EMPTY) is None and index.nearest(EMPTY) is None
    assert StoryIndex[str]().match(fingerprint(EN_WIRE)) is None


def _one_hash_at_a_time(text: str) -> int:
    """The MinHash as defined: each slot the least of its hash function over every shingle."""
    hashes = [fp_module._hash(s) for s in shingles(text)]
    if not hashes:
        return EMPTY
    prime, mask = fp_module._PRIME, fp_module._MASK
    slots = [min(((a * h + b) % prime) & mask for h in hashes) for a, b in fp_module._PERMS]
    return int.from_bytes(fp_module._SLOTS.pack(*slots), "little")


def test_all_shingles_at_once_give_the_slots_of_the_definition() -> None:
    """The lane-parallel computation must keep every stored fingerprint valid: same slots."""
    rng = random.Random(18)
    vocab = [f"w{i}" for i in range(2000)] + ["Astana", "Қазақстан", "ОДКБ", "Tokayev"]
    texts = [" ".join(rng.choices(vocab, k=rng.randint(0, 900))) for _ in range(60)]
    for text in [*texts, EN_WIRE, EN_EDITED, EN_ARREST, "", "a b", "a b c"]:
        assert fingerprint(text) == _one_hash_at_a_time(text)
