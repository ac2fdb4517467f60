import pytest

from qa.search.script import simplified


@pytest.mark.parametrize("typed, searched", [
    ("濟陽區配備了多少名駐站社工？", "济阳区配备了多少名驻站社工？"),
    ("貴州全省社工站覆蓋率是多少？", "贵州全省社工站覆盖率是多少？"),
    ("濟陽 社工", "济阳 社工"),                   # a short query: one character in four
    ("最後一次冰河期於何時結束？", "最后一次冰河期于何时结束？"),
])
def test_traditional_questions_are_searched_in_simplified(typed, searched):
    assert simplified(typed) == searched


@pytest.mark.parametrize("question", [
    "最后一次冰河期于何时结束？",                 # opencc-purepy's t2s turned 结束 into 結束
    "黄霑有哪些著名填词作品？",                    # a name whose own form looks traditional
    "兴隆水利枢纽工程位於潜江市的哪一个乡镇境内？",  # one stray form in a simplified question
    "济阳区 2023年 社工站 72.45%",
    "What is BM25?",
])
def test_simplified_questions_are_left_alone(question):
    assert simplified(question) == question
