from pipeline.config import PipelineConfig
from pipeline.reading.document_info import detect_document_type, detect_language
from pipeline.schema import DocumentType, Language

CONFIG = PipelineConfig()

BOKMAAL = (
    "Regjeringen vil styrke samarbeidet mellom helsetjenesten og næringslivet. Det er ikke nok å utvikle nye "
    "løsninger; de må også tas i bruk i kommunene. Derfor vil regjeringen gjennomgå hvordan virkemidlene "
    "fungerer, og hva som skal til for at flere bedrifter kan delta."
)
NYNORSK = (
    "Regjeringa vil styrkje samarbeidet mellom helsetenesta og næringslivet. Det er ikkje nok å utvikle nye "
    "løysingar; dei må òg takast i bruk i kommunane. Difor vil regjeringa gå gjennom korleis verkemidla "
    "fungerer, og kva som skal til for at fleire verksemder kan vere med."
)
ENGLISH = (
    "The government will strengthen the cooperation between the health service and industry. It is not "
    "enough to develop new solutions; they must also be used in the municipalities, and this is why the "
    "government will review how the instruments work."
)


def test_language_tells_bokmaal_nynorsk_and_other():
    assert detect_language(BOKMAAL, CONFIG.languages) == Language.BOKMAAL
    assert detect_language(NYNORSK, CONFIG.languages) == Language.NYNORSK
    assert detect_language(ENGLISH, CONFIG.languages) == Language.OTHER
    assert detect_language("For kort.", CONFIG.languages) == Language.UNKNOWN


def test_document_type_from_title_and_text():
    assert detect_document_type("Meld. St. 18 (2018–2019) Helsenæringen", BOKMAAL,
                                CONFIG.document_types) == DocumentType.MELDING
    assert detect_document_type("Handlingsplan for kliniske studier", BOKMAAL,
                                CONFIG.document_types) == DocumentType.HANDLINGSPLAN
    assert detect_document_type(None, BOKMAAL, CONFIG.document_types) == DocumentType.UNKNOWN


def test_news_about_a_roadmap_is_news():
    text = ("Publisert 12.06.2023 Sist oppdatert 13.06.2023\n\nVeikartet ble lagt fram i dag. "
            "– Dette er en viktig dag, sier næringsministeren. " + BOKMAAL)
    assert detect_document_type("Veikart for helsenæringen lagt fram", text,
                                CONFIG.document_types) == DocumentType.NYHET
