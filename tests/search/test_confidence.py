from qa.index.lexical import tokenize
from qa.chunking import split_sentences
from qa.search.answer import pick
from qa.search.confidence import (ABSENT_FACTOR, Features, confidence, coverage, features,
                                  naming, organisation_absent, organisations)
from qa.search.understand import understand
from qa.search.service import SearchService


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
    asked = understand("北京市朝阳区有多少名社工？")
    assert coverage(asked, "济阳区社工站", "配备社工26人", idf) < 0.3
    assert coverage(asked, "北京市朝阳区", "社工26人", idf) == 1.0
    assert coverage(understand("？？"), None, "text", idf) == 0.0


def test_naming_words_are_places_organisations_and_figures_not_kinds():
    for word in ("湖北", "武汉", "西湖区", "江苏省", "通辽职业学院", "2023", "MP5", "卡卡·比恩"):
        assert naming(word), word
    for word in ("社工", "社区", "城市", "内陆地区", "健康", "街道", "那家省", "该市", "这个县"):
        assert not naming(word), word


def test_common_nouns_jieba_tags_as_places_name_nothing():
    """jieba's dictionary has 东西 ('thing'), 长度, 海洋 as places: 「定子固定在什么东西上？」
    must not lose confidence on an article that never says 东西 (XQuAD found .950 -> .953)."""
    for word in ("东西", "长度", "海洋", "入口", "太阳"):
        assert not naming(word), word
    text = "定子是电机中固定不动的部分，通常固定在机壳上。"
    idf = {t: 2.0 for t in tokenize(text + "什么东西")}
    q = understand("定子固定在什么东西上？")
    f = features(q, None, text, pick(q, text, split_sentences(text), idf), 0.9, idf)
    assert f.named_missing == 0.0 and f.named_absent == 0.0


def test_a_question_about_another_place_is_less_sure_than_the_same_question_here():
    text = "济阳区各街道社工站共配备专业驻站社工26人，累计服务群众7.7万余人。"
    idf = {t: 2.0 for t in tokenize(text + "杭州市西湖区")}
    here = understand("济阳区配备了多少名驻站社工？")
    there = understand("杭州市西湖区配备了多少名驻站社工？")
    chosen = pick(here, text, split_sentences(text), idf)
    f_here = features(here, "济阳区社工站", text, chosen, 0.9, idf)
    f_there = features(there, "济阳区社工站", text,
                       pick(there, text, split_sentences(text), idf), 0.9, idf)
    assert f_here.named_missing == 0.0 and f_there.named_missing == 1.0
    assert confidence(f_there) < confidence(f_here)


def test_an_article_that_never_names_the_asked_place_halves_the_confidence():
    passage = "各街道社工站共配备专业驻站社工26人，累计服务群众7.7万余人。"
    article = "济阳区推进社工站建设。" + passage
    idf = {t: 2.0 for t in tokenize(article + "杭州市西湖区")}
    here, there = "济阳区配备了多少名驻站社工？", "杭州市西湖区配备了多少名驻站社工？"

    def scored(q):
        q = understand(q)
        chosen = pick(q, passage, split_sentences(passage), idf)
        return features(q, None, passage, chosen, 0.9, idf, article=article)

    # 济阳区 is missing from the passage but its article names it: no gate
    f_here, f_there = scored(here), scored(there)
    assert f_here.named_missing == 1.0 and f_here.named_absent == 0.0
    assert f_there.named_absent == 1.0
    ungated = confidence(Features(**{**f_there.__dict__, "named_absent": 0.0}))
    assert confidence(f_there) == ungated * ABSENT_FACTOR


def test_an_organisation_named_after_a_place_is_read_whole_and_without_the_place():
    ways = organisations("济南市第一人民医院有多少名医务社工？", tokenize)
    assert len(ways) == 1 and {"济南市第一人民医院", "第一人民医院"} <= set(ways[0])
    assert organisations("陕西师范大学派出了多少名学生？", tokenize) == [["陕西师范大学", "师范大学"]]
    # without the place a bare ending names nothing: 北京大学 is only 北京大学
    assert organisations("北京大学在哪里？", tokenize) == [["北京大学"]]
    # a verb or a question word between place and ending: no organisation is named
    assert organisations("五羊新城由哪个公司开发？", tokenize) == []
    assert organisations("济阳区配备了多少名驻站社工？", tokenize) == []


def test_an_article_naming_the_place_but_not_its_organisation_halves_the_confidence():
    asked = understand("济南市第一人民医院有多少名医务社工？")
    assert organisation_absent(asked, "山东省济南市济阳区推进社工站建设。")
    assert not organisation_absent(asked, "济南第一人民医院配备医务社工5名。")
    assert not organisation_absent(understand("济阳区配备了多少名驻站社工？"),
                                   "济阳区推进社工站建设。")
    passage = "济南市济阳区各街道社工站共配备专业医务社工26人。"
    idf = {t: 2.0 for t in tokenize(passage + asked.text)}
    chosen = pick(asked, passage, split_sentences(passage), idf)
    f = features(asked, None, passage, chosen, 0.9, idf, article=passage)
    assert f.named_absent == 0.0 and f.organisation_absent       # 济南市 is there, the 医院 not
    ungated = confidence(Features(**{**f.__dict__, "organisation_absent": False}))
    assert confidence(f) == ungated * ABSENT_FACTOR


def test_a_seed_question_about_an_organisation_the_archive_lacks_is_not_found(seed_archive,
                                                                               encoder):
    service = SearchService(seed_archive.settings(), encoder)
    # the archive has 济南's 济阳区 and 毕节's hospital, but no 济南市第一人民医院
    answer = service.ask("济南市第一人民医院有多少名医务社工？", 5)
    assert not answer.found
    assert service.ask("济阳区社工站为多少人提供了专业服务？", 5).found
