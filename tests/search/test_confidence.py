from qa.index.lexical import tokenize
from qa.search.confidence import Features, confidence, coverage


def test_confidence_is_a_probability_that_rises_with_the_evidence():
    weak = Features(dense=0.78, coverage=0.3, evidence=0.1, typed=False, asks_type=True)
    strong = Features(dense=0.9, coverage=1.0, evidence=0.9, typed=True, asks_type=True)
    assert 0.0 <= confidence(weak) < confidence(strong) <= 1.0
    lexical_only = Features(dense=None, coverage=1.0, evidence=0.9, typed=True, asks_type=True)
    assert 0.0 <= confidence(lexical_only) <= 1.0
    for c in (-5.0, 5.0):        # out-of-range inputs never overflow
        assert 0.0 <= confidence(Features(c, c, c, True, False)) <= 1.0


def test_coverage_counts_title_and_passage_and_weighs_rare_words():
    idf = {"北京市": 5.0, "社工": 1.0, "朝阳区": 5.0}
    assert coverage("北京市朝阳区有多少名社工？", "济阳区社工站", "配备社工26人", idf, tokenize) < 0.3
    assert coverage("北京市朝阳区有多少名社工？", "北京市朝阳区", "社工26人", idf, tokenize) == 1.0
    assert coverage("？？", None, "text", idf, tokenize) == 0.0
