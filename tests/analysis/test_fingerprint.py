"""Near-duplicate stories: copies of one wire story group together, other stories don't.

The texts are written for these tests in the style of agency copy: three outlets'
versions of the CSTO withdrawal from Kazakhstan (own headline, intro, credit line,
boilerplate, one rewritten sentence) in English and in German, and other stories
from the same days that share the names, the places and the topic.
"""

from __future__ import annotations

import itertools

import pytest

from bot.analysis.fingerprint import (
    EMPTY,
    NUM_PERM,
    THRESHOLD,
    distance,
    fingerprint,
    shingles,
    similarity,
)
from bot.core.normalize import words
from bot.pipeline.stories import StoryIndex

EN_WIRE = """Russian-led troops begin leaving Kazakhstan after unrest

Russian-led troops began leaving Kazakhstan on Thursday after helping the government put down the
worst unrest in the Central Asian country's three decades of independence, the Russian defence
ministry said. Kazakh Deputy Defence Minister Mukhamedzhan Talasov told departing soldiers at a
ceremony in Almaty that with the help of the allies the security forces had been able to track
down and detain bandits. President Kassym-Jomart Tokayev asked the Collective Security Treaty
Organization for help last week after protests over a sharp rise in fuel prices turned violent
in several cities. The alliance, which also includes Belarus, Armenia, Kyrgyzstan and Tajikistan,
said on Wednesday the withdrawal would be completed within ten days. Authorities say 164 people
were killed and almost 10,000 detained during the violence. Many Kazakhs accuse the authorities
and the elite of enriching themselves while ordinary people struggle with rising prices. Tokayev
has described the unrest as an attempted coup organised from abroad and said foreign militants
trained by Islamist groups had taken part. Analysts say the crisis has allowed him to consolidate
power at the expense of his predecessor Nursultan Nazarbayev, who had retained wide influence
after stepping down in 2019. Russian President Vladimir Putin said the alliance would not allow
revolutions of the kind seen in other former Soviet republics. Military transport planes
carrying the first units landed at airports near Moscow on Thursday evening, the ministry added.
"""

# Another outlet: own headline and intro, wire body, last sentence cut, credit line added.
EN_REWRITE = """CSTO pulls out: first soldiers fly home from Almaty

ALMATY, Jan 13 (Agency) - The first soldiers of a Moscow-led military bloc flew home from
Kazakhstan on Thursday, a week after they were rushed in to help quell deadly riots. Kazakh
Deputy Defence Minister Mukhamedzhan Talasov told departing soldiers at a ceremony in Almaty that
with the help of the allies the security forces had been able to track down and detain bandits.
President Kassym-Jomart Tokayev asked the Collective Security Treaty Organization for help last
week after protests over a sharp rise in fuel prices turned violent in several cities. The
alliance, which also includes Belarus, Armenia, Kyrgyzstan and Tajikistan, said on Wednesday the
withdrawal would be completed within ten days. Authorities say 164 people were killed and almost
10,000 detained during the violence. Many Kazakhs accuse the authorities and the elite of
enriching themselves while ordinary people struggle with rising prices. Tokayev has described
the unrest as an attempted coup organised from abroad and said foreign militants trained by
Islamist groups had taken part. Analysts say the crisis has allowed him to consolidate power at
the expense of his predecessor Nursultan Nazarbayev, who had retained wide influence after
stepping down in 2019. Russian President Vladimir Putin said the alliance would not allow
revolutions of the kind seen in other former Soviet republics.
Reporting by Olzhas Auyezov; Writing by Tom Balmforth; Editing by Mark Heinrich
"""

# A third outlet: site boilerplate around it, one sentence rewritten, a background outro.
EN_EDITED = """Kazakhstan: allied troops start withdrawal
Advertisement
Russian-led troops began leaving Kazakhstan on Thursday after helping the government put down the
worst unrest in the Central Asian country's three decades of independence, the Russian defence
ministry said. Kazakh Deputy Defence Minister Mukhamedzhan Talasov told departing soldiers at a
ceremony in Almaty that with the help of the allies the security forces had been able to track
down and detain bandits. President Kassym-Jomart Tokayev asked the Collective Security Treaty
Organization for help last week after protests over a sharp rise in fuel prices turned violent
in several cities. The alliance, which also includes Belarus, Armenia, Kyrgyzstan and Tajikistan,
said on Wednesday the withdrawal would be completed within ten days. The health ministry put the
death toll at 164, including members of the security forces, while police said 9,900 people had
been detained. Many Kazakhs accuse the authorities and the elite of enriching themselves while
ordinary people struggle with rising prices. Tokayev has described the unrest as an attempted
coup organised from abroad and said foreign militants trained by Islamist groups had taken part.
Analysts say the crisis has allowed him to consolidate power at the expense of his predecessor
Nursultan Nazarbayev, who had retained wide influence after stepping down in 2019. Russian
President Vladimir Putin said the alliance would not allow revolutions of the kind seen in other
former Soviet republics. The deployment was the first time the bloc had invoked its collective
defence clause since it was founded in 2002.
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

DE_WIRE = """OVKS-Truppen beginnen Abzug aus Kasachstan

Nach der Niederschlagung der Unruhen in Kasachstan hat das von Russland angeführte Militärbündnis
OVKS mit dem Abzug seiner Soldaten begonnen. Mit Hilfe der Verbündeten hätten die kasachischen
Sicherheitskräfte ihre Aufgabe erfüllen und Banditen aufspüren können, sagte Vizeverteidigungs-
minister Muchamedschan Talasow am Donnerstag bei einer Zeremonie in Almaty. Präsident
Kassym-Schomart Tokajew hatte das Bündnis vergangene Woche um Hilfe gebeten, nachdem Proteste
gegen stark gestiegene Treibstoffpreise in mehreren Städten in Gewalt umgeschlagen waren. Der
Abzug soll nach Angaben der Allianz, der auch Belarus, Armenien, Kirgistan und Tadschikistan
angehören, binnen zehn Tagen abgeschlossen sein. Nach offiziellen Angaben kamen bei den
Unruhen 164 Menschen ums Leben, fast 10.000 wurden festgenommen. Viele Kasachen werfen der Elite
vor, sich zu bereichern, während die Lebenshaltungskosten steigen. Tokajew sprach von einem aus
dem Ausland gesteuerten Umsturzversuch, an dem auch von Islamisten ausgebildete Kämpfer
beteiligt gewesen seien. Beobachter meinen, der Präsident habe die Krise genutzt, um seine Macht
auf Kosten seines Vorgängers Nursultan Nasarbajew auszubauen, der nach seinem Rücktritt 2019
weiterhin großen Einfluss hatte. Kremlchef Wladimir Putin hatte erklärt, das Bündnis werde keine
Revolutionen wie in anderen früheren Sowjetrepubliken zulassen. Die ersten Transportflugzeuge
mit russischen Soldaten landeten am Abend bei Moskau, teilte das Verteidigungsministerium mit.
"""

DE_REWRITE = """Kasachstan: Russische Soldaten fliegen nach Hause

Almaty (dpa) - Eine Woche nach ihrer Ankunft verlassen die ersten ausländischen Soldaten das
krisengeschüttelte Kasachstan wieder. Mit Hilfe der Verbündeten hätten die kasachischen
Sicherheitskräfte ihre Aufgabe erfüllen und Banditen aufspüren können, sagte Vizeverteidigungs-
minister Muchamedschan Talasow am Donnerstag bei einer Zeremonie in Almaty. Präsident
Kassym-Schomart Tokajew hatte das Bündnis vergangene Woche um Hilfe gebeten, nachdem Proteste
gegen stark gestiegene Treibstoffpreise in mehreren Städten in Gewalt umgeschlagen waren. Der
Abzug soll nach Angaben der Allianz, der auch Belarus, Armenien, Kirgistan und Tadschikistan
angehören, binnen zehn Tagen abgeschlossen sein. Nach offiziellen Angaben kamen bei den
Unruhen 164 Menschen ums Leben, fast 10.000 wurden festgenommen. Viele Kasachen werfen der Elite
vor, sich zu bereichern, während die Lebenshaltungskosten steigen. Tokajew sprach von einem aus
dem Ausland gesteuerten Umsturzversuch, an dem auch von Islamisten ausgebildete Kämpfer
beteiligt gewesen seien. Beobachter meinen, der Präsident habe die Krise genutzt, um seine Macht
auf Kosten seines Vorgängers Nursultan Nasarbajew auszubauen, der nach seinem Rücktritt 2019
weiterhin großen Einfluss hatte.
Mehr zum Thema: Was hinter den Protesten in Kasachstan steckt
"""

DE_EDITED = """Abzug der OVKS aus Kasachstan hat begonnen
Anzeige
Nach der Niederschlagung der Unruhen in Kasachstan hat das von Russland angeführte Militärbündnis
OVKS mit dem Abzug seiner Soldaten begonnen. Mit Hilfe der Verbündeten hätten die kasachischen
Sicherheitskräfte ihre Aufgabe erfüllen und Banditen aufspüren können, sagte Vizeverteidigungs-
minister Muchamedschan Talasow am Donnerstag bei einer Zeremonie in Almaty. Präsident
Kassym-Schomart Tokajew hatte das Bündnis vergangene Woche um Hilfe gebeten, nachdem Proteste
gegen stark gestiegene Treibstoffpreise in mehreren Städten in Gewalt umgeschlagen waren. Der
Abzug soll nach Angaben der Allianz, der auch Belarus, Armenien, Kirgistan und Tadschikistan
angehören, binnen zehn Tagen abgeschlossen sein. Das Gesundheitsministerium bezifferte die Zahl
der Toten auf 164, darunter auch Polizisten und Soldaten; die Polizei meldete rund 9900
Festnahmen. Viele Kasachen werfen der Elite vor, sich zu bereichern, während die
Lebenshaltungskosten steigen. Tokajew sprach von einem aus dem Ausland gesteuerten
Umsturzversuch, an dem auch von Islamisten ausgebildete Kämpfer beteiligt gewesen seien.
Beobachter meinen, der Präsident habe die Krise genutzt, um seine Macht auf Kosten seines
Vorgängers Nursultan Nasarbajew auszubauen, der nach seinem Rücktritt 2019 weiterhin großen
Einfluss hatte. Kremlchef Wladimir Putin hatte erklärt, das Bündnis werde keine Revolutionen wie
in anderen früheren Sowjetrepubliken zulassen. (APA/Reuters)
Jetzt den Newsletter abonnieren
© 2022 Tageszeitung. Alle Rechte vorbehalten.
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
    stories = [index.assign(fingerprint(t), f"new-{i}") for i, t in enumerate(ARRIVALS)]
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
    assert distance(fp, fp) == 0 and similarity(fp, fp) == 1.0
    assert 0 < fp < 1 << (32 * NUM_PERM)
    assert distance(fp, fingerprint(EN_ARREST)) == distance(fingerprint(EN_ARREST), fp)


def test_texts_without_shingles_match_nothing() -> None:
    assert fingerprint("") == EMPTY and fingerprint("Read more") == EMPTY
    index: StoryIndex[str] = StoryIndex([("empty", EMPTY), ("csto", fingerprint(EN_WIRE))])
    assert len(index) == 1
    assert index.match(EMPTY) is None and index.nearest(EMPTY) is None
    assert StoryIndex[str]().match(fingerprint(EN_WIRE)) is None
