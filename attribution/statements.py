"""The attribution statements a student's disclosure turns into (S C.1, S 7.4ә, C.2, U 6.5).

Pure functions of the disclosure and a language. The kk texts are the standard's templates,
verbatim; ru and en are our faithful translations. They go into the student's work in the
language asked for, so they are plain dictionaries here, not gettext (which follows the
interface language).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l

LANGUAGES = ("kk", "ru", "en")

# S 7.2: the uses allowed with disclosure, by code. ``other`` is always offered to the student.
STANDARD_TASKS = ("ideas", "language", "trainer", "refactoring")
OTHER_TASK = "other"

TASK_TITLES = {  # shown in the interface, in the interface language
    "ideas": _l("Generating ideas, plans and questions on the topic"),
    "language": _l("Language correction and condensing the wording"),
    "trainer": _l("Solution trainers, then worked through on my own"),
    "refactoring": _l("Refactoring code without hiding the source"),
    OTHER_TASK: _l("Other"),
}

# S 7.3 (and U 5.3): never allowed, whatever the assignment says. Shown to students.
FORBIDDEN_USES = (
    _l("Generating ready answers or whole works instead of doing the work yourself."),
    _l("Automatic translation without analysis and revision when the task assesses your language skills."),
    _l("Tools that solve tests automatically, and cheating during proctoring."),
    _l("Deepfakes and manipulative content."),
    _l("Handing the task to someone else, including paid \u201cready-made work\u201d services."),
    _l("Fabricating data, or passing off other people's results as your own."),
)

# The purpose words of C.1 («мақсат: ...») and of the 7.4ә template («<...> үшін»), per language.
_PURPOSE = {
    "kk": {"ideas": "идея генерациясы", "language": "тілдік түзету", "trainer": "шешім тренажері",
           "refactoring": "кодты қайта құрылымдау", OTHER_TASK: "басқа"},
    "ru": {"ideas": "генерация идей", "language": "языковая правка", "trainer": "тренажёр решений",
           "refactoring": "рефакторинг кода", OTHER_TASK: "другое"},
    "en": {"ideas": "generating ideas", "language": "language correction", "trainer": "solution trainer",
           "refactoring": "code refactoring", OTHER_TASK: "other"},
}
_FOR = {
    "kk": {"ideas": "Идеяларды генерациялау", "language": "Тілдік түзету", "trainer": "Шешім тренажері",
           "refactoring": "Кодты тексеру", OTHER_TASK: "Басқа мақсат"},
    "ru": {"ideas": "Генерации идей", "language": "Языковой правки", "trainer": "Тренажёра решений",
           "refactoring": "Проверки кода", OTHER_TASK: "Другой цели"},
    "en": {"ideas": "Generating ideas", "language": "Language correction", "trainer": "A solution trainer",
           "refactoring": "Code review", OTHER_TASK: "Another purpose"},
}

# S C.1, verbatim in kk.
_SHORT = {
    "kk": "GenAI {service} пайдаланылды, модель {model}, мақсат: {purposes}. Жүгіну күні: {dates}. "
          "Негізгі сұраныстар мен жауаптар қосымшада/сілтемеде көрсетілген.",
    "ru": "Использован GenAI {service}, модель {model}, цель: {purposes}. Дата обращения: {dates}. "
          "Основные запросы и ответы приведены в приложении/по ссылке.",
    "en": "GenAI {service} was used, model {model}, purpose: {purposes}. Date of use: {dates}. "
          "The main prompts and answers are given in the appendix/at the link.",
}
# S 7.4ә, verbatim in kk.
_TEMPLATE_74 = {
    "kk": "{purposes} үшін GenAI {service}, {model} моделі пайдаланылды. Негізгі нұсқамалар мен жауаптар - қосымшада",
    "ru": "Для {purposes} использован GenAI {service}, модель {model}. Основные инструкции и ответы - в приложении",
    "en": "{purposes}: GenAI {service}, model {model}, was used. The main instructions and answers are in the appendix",
}
# U 6.5: the author's confirmation.
_CHECKED = {
    "kk": "Автор қорытынды нәтижені жеке өзі тексергенін растайды.",
    "ru": "Автор подтверждает, что лично проверил итоговый результат.",
    "en": "The author confirms having personally checked the final result.",
}
_NO_AI = {
    "kk": "Бұл жұмысты орындау кезінде ЖИ пайдаланылған жоқ.",
    "ru": "При выполнении этой работы ИИ не использовался.",
    "en": "No AI was used in doing this work.",
}
HEADINGS = {
    "statement": {"kk": "ЖИ қолдану туралы ақпарат", "ru": "Информация об использовании ИИ",
                  "en": "Information on the use of AI"},
    "table": {"kk": "Кеңейтілген атрибуция", "ru": "Расширенная атрибуция", "en": "Extended attribution"},
    "drafts": {"kk": "Шимай жазбалар мен нұсқалар тарихы", "ru": "Черновики и история версий",
               "en": "Drafts and version history"},
}
TABLE_COLUMNS = {
    "kk": ("Тапсырма", "Промпт (сұрау)", "ЖИ жауабы", "Автордың редакциясы", "Үзіндіге сілтеме"),
    "ru": ("Задача", "Промпт (запрос)", "Ответ ИИ", "Редакция автора", "Ссылка на фрагмент"),
    "en": ("Task", "Prompt", "AI answer", "Author's edit", "Link to the fragment"),
}


@dataclass(frozen=True)
class UseRow:
    """One row of the C.2 table: task → prompt → AI answer → author's edit → link to the fragment."""

    task: str
    prompt: str
    answer: str
    edit: str
    link: str = ""


@dataclass(frozen=True)
class Disclosure:
    """What the student declared (S C.5). ``tasks`` are codes; ``custom_titles`` name the
    assignment's own categories and ``other_text`` the student's "other"."""

    ai_used: bool
    tasks: tuple[str, ...] = ()
    service: str = ""
    model: str = ""
    model_version: str = ""
    dates: tuple[date, ...] = ()
    other_text: str = ""
    custom_titles: dict[str, str] = field(default_factory=dict)
    rows: tuple[UseRow, ...] = ()
    checked: bool = False

    @property
    def model_and_version(self) -> str:
        return " ".join(part for part in (self.model, self.model_version) if part)


def _language(lang: str) -> str:
    return lang if lang in LANGUAGES else "kk"


def format_dates(dates: tuple[date, ...]) -> str:
    """Dates as the standard writes them: dd.mm.yyyy, several separated by commas."""
    return ", ".join(d.strftime("%d.%m.%Y") for d in sorted(dates))


def _purposes(disclosure: Disclosure, words: dict[str, str]) -> list[str]:  # the words, in the given set
    out = []
    for task in disclosure.tasks:
        if task == OTHER_TASK and disclosure.other_text:
            out.append(disclosure.other_text)
        elif task in words:
            out.append(words[task])
        elif task in disclosure.custom_titles:
            out.append(disclosure.custom_titles[task])
    return out or [words[OTHER_TASK]]


def purposes(disclosure: Disclosure, lang: str) -> list[str]:
    """What AI was used for, in the C.1 words of ``lang`` (the teacher's own titles and the
    student's "other" as written)."""
    return _purposes(disclosure, _PURPOSE[_language(lang)])


def short_attribution(disclosure: Disclosure, lang: str) -> str:
    """The C.1 short attribution, or the no-AI sentence when no AI was used."""
    lang = _language(lang)
    if not disclosure.ai_used:
        return _NO_AI[lang]
    return _SHORT[lang].format(service=disclosure.service, model=disclosure.model_and_version,
                               purposes=" / ".join(_purposes(disclosure, _PURPOSE[lang])),
                               dates=format_dates(disclosure.dates))


def sentence_74(disclosure: Disclosure, lang: str) -> str | None:
    """The S 7.4ә sentence, or ``None`` when no AI was used."""
    lang = _language(lang)
    if not disclosure.ai_used:
        return None
    return _TEMPLATE_74[lang].format(service=disclosure.service, model=disclosure.model_and_version,
                                     purposes="/".join(_purposes(disclosure, _FOR[lang])))


def checked_sentence(disclosure: Disclosure, lang: str) -> str | None:
    return _CHECKED[_language(lang)] if disclosure.ai_used and disclosure.checked else None


def statement_text(disclosure: Disclosure, lang: str) -> str:
    """The whole statement as plain text, the way the student copies it into the work."""
    parts = [short_attribution(disclosure, lang), sentence_74(disclosure, lang), checked_sentence(disclosure, lang)]
    return "\n".join(part for part in parts if part)


def table_rows(disclosure: Disclosure, lang: str) -> list[tuple[str, ...]]:
    """The C.2 table as rows of text, header first; empty when there are no rows."""
    if not disclosure.rows:
        return []
    lang = _language(lang)
    return [TABLE_COLUMNS[lang], *((r.task, r.prompt, r.answer, r.edit, r.link) for r in disclosure.rows)]
