"""SCIM filters → SQL (`scimitar.storage.filters`), evaluated on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Select, insert, select, text

from scimitar.domain.context import Tx, new_id
from scimitar.domain.directory import group_store as domain_groups
from scimitar.domain.directory.people import create_member, find_member
from scimitar.domain.models import GroupKind, Member, Org
from scimitar.protocol.errors import InvalidFilter, InvalidValue
from scimitar.protocol.filter import (
    MAX_FILTER_DEPTH,
    MAX_FILTER_NODES,
    And,
    AttrPath,
    Compare,
    Filter,
    Or,
    Present,
    parse_attr_path,
    parse_filter,
)
from scimitar.protocol.resource import normalize
from scimitar.protocol.schema import CORE_USER, ENTERPRISE_USER, GROUP, SCIMITAR_USER, USER
from scimitar.storage.filters import compile_filter, sort_key
from scimitar.storage.tables import groups, member_emails, members
from tests.domain.helpers import make_org

T0 = datetime(2024, 1, 1, tzinfo=UTC)

OWNER = "owner@acme.example.com"
BOSS = "boss@example.com"
BABS = "bjensen@example.com"
ZOE = "zoë.ångström@example.com"
GONE = "gone@example.com"
BARE = "bare@example.com"
ROBERT = "robert@example.com"
PERCENT = "a%b@example.com"
UNDERSCORE = "a_b@example.com"
BACKSLASH = "a\\b@example.com"
PLAIN = "axb@example.com"
EVERYONE = {OWNER, BOSS, BABS, ZOE, GONE, BARE, ROBERT, PERCENT, UNDERSCORE, BACKSLASH, PLAIN}
TITLED = {BOSS, BABS, ZOE}
NAMED = {BOSS, BABS, ZOE, ROBERT}  # have a displayName
INJECTION = "x'; DROP TABLE members; --"


@dataclass
class World:
    org: Org
    other: Org
    people: dict[str, Member]
    groups: dict[str, str]

    def id(self, user_name: str) -> str:
        return self.people[user_name].id


def add(tx: Tx, org: Org, user_name: str, **attributes: Any) -> Member:
    """A member from a SCIM body, normalised as the SCIM face does."""
    body = {"schemas": [CORE_USER], "userName": user_name, **attributes}
    return create_member(tx, org, normalize(USER, body))


def add_group(
    tx: Tx, org: Org, name: str, people: list[Member], external_id: str | None = None
) -> str:
    created = domain_groups.insert_group(tx, org, GroupKind.CUSTOM, name, external_id=external_id)
    domain_groups.add_members(tx, org, created, [person.id for person in people])
    return created.id


def work_email(address: str) -> list[dict[str, Any]]:
    return [{"value": address, "type": "work", "primary": True}]


@pytest.fixture
def world(tx: Tx) -> World:
    tx.now = T0
    org = make_org(tx)
    owner = find_member(tx, org, OWNER)
    assert owner is not None
    boss = add(
        tx,
        org,
        BOSS,
        displayName="The Boss",
        externalId="ext-boss",
        title="Chief",
        emails=work_email(BOSS),
    )
    people = {OWNER: owner, BOSS: boss}
    people[BABS] = add(
        tx,
        org,
        BABS,
        name={"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara Jensen"},
        displayName="Babs Jensen",
        externalId="EXT-1",
        title="Tour Guide",
        userType="Employee",
        emails=[
            *work_email(BABS),
            {"value": "babs@jensen.org", "type": "home", "display": "Babs at Home"},
        ],
        phoneNumbers=[
            {"value": "555-555-5555", "type": "work"},
            {"value": "555-555-4444", "type": "mobile"},
        ],
        addresses=[{"type": "work", "locality": "Hollywood", "country": "US", "primary": True}],
        **{
            ENTERPRISE_USER: {"department": "Tour Operations", "manager": {"value": boss.id}},
            SCIMITAR_USER: {"orgRole": "Admin"},
        },
    )
    people[ZOE] = add(
        tx,
        org,
        ZOE,
        name={"givenName": "Zoë", "familyName": "Ångström"},
        displayName="Zoë Ångström",
        externalId="ext-zoe",
        title="ÜBER-Chef",
        emails=[{"value": "Zoë.Ångström@Example.com", "type": "work"}],
        **{ENTERPRISE_USER: {"department": "Räksmörgås"}},
    )
    people[GONE] = add(tx, org, GONE, active=False, emails=work_email(GONE))
    people[ROBERT] = add(
        tx, org, ROBERT, displayName=INJECTION, nickName="Robert'); DROP TABLE students;--"
    )
    for user_name in (BARE, PERCENT, UNDERSCORE, BACKSLASH, PLAIN):
        people[user_name] = add(tx, org, user_name)
    teams = {
        "Engineers": add_group(tx, org, "Engineers", [people[BABS], people[ZOE]], "G-EXT"),
        "Tour Ops": add_group(tx, org, "Tour Ops", [people[BABS]]),
        "Empty": add_group(tx, org, "Empty", []),
    }
    other = make_org(tx, "globex")
    twin = add(tx, other, BABS, emails=work_email(BABS), title="Tour Guide")
    intruder = add(tx, other, "intruder@example.com", emails=work_email(BABS), title="Spy")
    add_group(tx, other, "Engineers", [twin, intruder], "G-EXT")
    return World(org, other, people, teams)


def users(tx: Tx, org: Org, text: str) -> set[str]:
    return tree_users(tx, org, parse_filter(text))


def tree_users(tx: Tx, org: Org, tree: Filter) -> set[str]:
    query = select(members.c.user_name).where(
        members.c.org_id == org.id, compile_filter(USER, tree)
    )
    return set(tx.conn.execute(query).scalars())


def group_names(tx: Tx, org: Org, text: str) -> set[str]:
    query = select(groups.c.display_name).where(
        groups.c.org_id == org.id, compile_filter(GROUP, parse_filter(text))
    )
    return set(tx.conn.execute(query).scalars())


Cases = list[tuple[str, set[str]]]


def wrong_answers(
    tx: Tx, org: Org, cases: Cases, find: Callable[[Tx, Org, str], set[str]] = users
) -> dict[str, set[str]]:
    """Each filter whose answer is not the expected one, with the answer it gave."""
    return {text: got for text, expected in cases if (got := find(tx, org, text)) != expected}


def refused(text: str, resource: Any = USER) -> str:
    with pytest.raises(InvalidFilter) as caught:
        compile_filter(resource, parse_filter(text))
    return caught.value.detail


# --- Operators ------------------------------------------------------------------------------


STRING_OPERATORS: Cases = [
    (f'userName eq "{BABS}"', {BABS}),
    (f'userName ne "{BABS}"', EVERYONE - {BABS}),
    ('userName co "jensen"', {BABS}),
    ('userName sw "a"', {PERCENT, UNDERSCORE, BACKSLASH, PLAIN}),
    ('userName ew "@acme.example.com"', {OWNER}),
    ('displayName co "jensen"', {BABS}),
    ('displayName sw "the"', {BOSS}),
    ('displayName ew "BOSS"', {BOSS}),
    ('title co "GUIDE"', {BABS}),
    ('title sw "tour"', {BABS}),
    ('title ew "chef"', {ZOE}),
    ("title pr", TITLED),
    ("displayName pr", NAMED),
    ("userName pr", EVERYONE),
    ("externalId pr", {BOSS, BABS, ZOE}),
]


def test_string_operators(tx: Tx, world: World) -> None:
    """eq ne co sw ew pr on columns and JSON values, caseExact=false values in any case."""
    assert wrong_answers(tx, world.org, STRING_OPERATORS) == {}


def test_ordering_is_by_code_point_of_the_folded_value(tx: Tx, world: World) -> None:
    """gt/ge/lt/le compare the folded strings by code point, the same on both engines."""
    compare = {"gt": str.__gt__, "ge": str.__ge__, "lt": str.__lt__, "le": str.__le__}
    cases = [
        (f'userName {op} "{bound}"', {n for n in EVERYONE if test(n.lower(), bound.lower())})
        for op, test in compare.items()
        for bound in ("b", BARE, "owner@acme.example.com", "Z", "a_")
    ]
    assert wrong_answers(tx, world.org, cases) == {}


def test_ordering_on_json_values(tx: Tx, world: World) -> None:
    """Ordering works on values inside the document and skips members without one."""
    assert users(tx, world.org, 'title gt "chief"') == {BABS, ZOE}
    assert users(tx, world.org, 'title le "CHIEF"') == {BOSS}


def test_datetimes_compare_as_instants_across_offsets(tx: Tx, world: World) -> None:
    """meta.lastModified/created compare as datetimes; offsets in the filter are honoured."""
    tx.now = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    add(tx, world.org, "late@example.com")
    assert users(tx, world.org, 'meta.lastModified gt "2024-06-01T13:00:00+02:00"') == {
        "late@example.com"
    }
    assert users(tx, world.org, 'meta.lastModified gt "2024-06-01T11:00:00-02:00"') == set()
    assert users(tx, world.org, 'meta.lastModified eq "2024-06-01T14:00:00+02:00"') == {
        "late@example.com"
    }
    assert users(tx, world.org, 'meta.created le "2024-01-01T01:00:00+01:00"') == EVERYONE
    assert users(tx, world.org, 'meta.created lt "2024-06-01T12:00:00Z"') == EVERYONE
    assert users(tx, world.org, 'meta.created ge "2024-06-01T12:00:00"') == {"late@example.com"}


def test_booleans_are_typed(tx: Tx, world: World) -> None:
    """active eq false / ne true match the deactivated member; true/false are not strings."""
    assert users(tx, world.org, "active eq false") == {GONE}
    assert users(tx, world.org, "active ne true") == {GONE}
    assert users(tx, world.org, "not (active eq true)") == {GONE}
    assert users(tx, world.org, "active eq true") == EVERYONE - {GONE}


def test_resource_type(tx: Tx, world: World) -> None:
    """meta.resourceType is "User" for every member (caseExact)."""
    assert users(tx, world.org, 'meta.resourceType eq "User"') == EVERYONE
    assert users(tx, world.org, 'meta.resourceType eq "Group"') == set()


def test_org_role_compares_case_insensitively(tx: Tx, world: World) -> None:
    """orgRole (Scimitar extension, a column) matches Owner/Admin/Member in any case."""
    assert users(tx, world.org, 'orgRole eq "owner"') == {OWNER}
    assert users(tx, world.org, 'orgRole eq "ADMIN"') == {BABS}
    urn = "urn:ietf:params:scim:schemas:extension:scimitar:2.0:User:orgRole"
    assert users(tx, world.org, f'{urn} ne "member"') == {OWNER, BABS}


# --- Case -----------------------------------------------------------------------------------


BABS_IN_ANY_CASE = [
    'USERNAME eq "bjensen@example.com"',
    'userName EQ "BJENSEN@EXAMPLE.COM"',
    'name.FamilyName eq "JENSEN"',
    'NAME.givenName eq "barbara"',
    'emails.Value eq "BJENSEN@example.com"',
    'EMAILS[TYPE eq "HOME"]',
    'URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:userName eq "bjensen@example.com"',
    'urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "jensen"',
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:DEPARTMENT eq "tour operations"',
    'userType eq "EMPLOYEE"',
    'name.formatted co "barbara"',
]


def test_names_and_values_match_case_insensitively(tx: Tx, world: World) -> None:
    """Attribute names, sub-attributes and URNs match in any case; so do caseExact=false values."""
    cases = [(filter_text, {BABS}) for filter_text in BABS_IN_ANY_CASE]
    assert wrong_answers(tx, world.org, cases) == {}


ZOE_IN_ANY_CASE = [
    'userName eq "ZOË.ÅNGSTRÖM@EXAMPLE.COM"',
    'emails.value eq "ZOË.ÅNGSTRÖM@EXAMPLE.COM"',
    'emails[type eq "work" and value sw "ZOË.Å"]',
    'displayName co "ÅNGSTR"',
    'name.familyName eq "ÅNGSTRÖM"',
    'name.givenName eq "ZOË"',
    'title eq "über-chef"',
    'title sw "üBER"',
    'department eq "RÄKSMÖRGÅS"',
    'department co "MÖRG"',
]


def test_non_ascii_values_fold_on_both_engines(tx: Tx, world: World) -> None:
    """Folding is Unicode-correct in key columns and inside JSON (SQLite lower() is ASCII-only)."""
    cases = [(filter_text, {ZOE}) for filter_text in ZOE_IN_ANY_CASE]
    assert wrong_answers(tx, world.org, cases) == {}


def test_sql_fold_is_python_fold(tx: Tx, world: World) -> None:
    """JSON values fold exactly like str.lower: final sigma, dotted I, capital sharp s."""
    add(tx, world.org, "greek@example.com", title="ΟΔΟΣ İSTANBUL ẞ")
    assert users(tx, world.org, f'title eq "{"ΟΔΟΣ İSTANBUL ẞ".lower()}"') == {"greek@example.com"}


def test_case_exact_attributes_compare_exactly(tx: Tx, world: World) -> None:
    """externalId and id are caseExact: another case does not match."""
    assert users(tx, world.org, 'externalId eq "EXT-1"') == {BABS}
    assert users(tx, world.org, 'externalId eq "ext-1"') == set()
    assert users(tx, world.org, "externalId eq jyoung") == set()
    babs = world.id(BABS)
    assert users(tx, world.org, f'id eq "{babs}"') == {BABS}
    assert users(tx, world.org, f'id eq "{babs.upper()}"') == set()


# --- LIKE wildcards and injection -------------------------------------------------------------


WILDCARDS: Cases = [
    ('userName co "%"', {PERCENT}),
    ('userName co "_"', {UNDERSCORE}),
    ('userName co "\\\\"', {BACKSLASH}),
    ('userName sw "a_"', {UNDERSCORE}),
    ('userName sw "a%b"', {PERCENT}),
    ('userName ew "\\\\b@example.com"', {BACKSLASH}),
    ('nickName co "\'); drop"', {ROBERT}),
]


def test_like_wildcards_are_literal(tx: Tx, world: World) -> None:
    """%, _ and the escape character in co/sw/ew match only themselves."""
    assert wrong_answers(tx, world.org, WILDCARDS) == {}


def test_injection_strings_are_data(tx: Tx, world: World) -> None:
    """SQL in a filter value is compared as text and changes nothing."""
    assert users(tx, world.org, f'displayName eq "{INJECTION}"') == {ROBERT}
    assert users(tx, world.org, f'userName eq "{INJECTION}" or title co "\'--"') == set()
    assert users(tx, world.org, "userName pr") == EVERYONE


# --- Logic and absent attributes ------------------------------------------------------------


PRECEDENCE: Cases = [
    (f'userName eq "{BARE}" or userName eq "{GONE}" and title pr', {BARE}),
    (f'(userName eq "{BARE}" or userName eq "{BABS}") and title pr', {BABS}),
    (f'userName eq "{BABS}" or userName eq "{ZOE}" and not (title pr)', {BABS}),
    (f'not (userName eq "{BABS}" or userName eq "{ZOE}")', EVERYONE - {BABS, ZOE}),
    (f'not (not (userName eq "{BABS}"))', {BABS}),
    (f'not (userName eq "{BABS}" and title pr)', EVERYONE - {BABS}),
    ('title pr and not (displayName co "boss")', {BABS, ZOE}),
    ('title pr AND (title co "guide" OR title co "chef")', {BABS, ZOE}),
]


def test_precedence_and_grouping(tx: Tx, world: World) -> None:
    """`and` binds tighter than `or`; parentheses and `not` group (RFC 7644 §3.4.2.2)."""
    assert wrong_answers(tx, world.org, PRECEDENCE) == {}


ABSENT: Cases = [
    ('title ne "Tour Guide"', EVERYONE - {BABS}),
    ('not (title eq "Tour Guide")', EVERYONE - {BABS}),
    ("not (title pr)", EVERYONE - TITLED),
    ('not (title gt "a")', EVERYONE - TITLED),
    ('displayName ne "babs jensen"', EVERYONE - {BABS}),
    ('not (displayName co " ")', EVERYONE - NAMED),
    ('externalId ne "EXT-1"', EVERYONE - {BABS}),
    ("not (externalId pr)", EVERYONE - {BOSS, BABS, ZOE}),
    ('department ne "Tour Operations"', EVERYONE - {BABS}),
    ("not (name.givenName pr)", EVERYONE - {BABS, ZOE}),
    ("title eq null", EVERYONE - TITLED),
    ("title ne null", TITLED),
    ("not (name pr)", EVERYONE - {BABS, ZOE}),
    ("name pr", {BABS, ZOE}),
]


def test_absent_attributes_under_not_and_ne(tx: Tx, world: World) -> None:
    """An absent attribute is not equal to anything: `ne` and `not (…)` include it."""
    assert wrong_answers(tx, world.org, ABSENT) == {}


# --- Multi-valued attributes ----------------------------------------------------------------

EMAILED = {OWNER, BOSS, BABS, ZOE, GONE}


EMAILS: Cases = [
    ('emails.value eq "BABS@jensen.org"', {BABS}),
    ('emails co "@jensen.org"', {BABS}),
    ('emails eq "boss@example.com"', {BOSS}),
    ("emails pr", EMAILED),
    ("not (emails pr)", EVERYONE - EMAILED),
    ('emails.type eq "home"', {BABS}),
    ('emails.type ne "home"', EVERYONE - {BABS}),
    ("emails.primary eq true", {OWNER, BOSS, BABS, GONE}),
    ('emails[type eq "work" and value co "@example.com"]', {BOSS, BABS, ZOE, GONE}),
    ('emails[type eq "home" and value ew ".org"]', {BABS}),
    ('emails[type eq "home" and value eq "bjensen@example.com"]', set()),
    ('emails.type eq "home" and emails.value eq "bjensen@example.com"', {BABS}),
    ('emails[not (type eq "work")]', {BABS}),
    ('emails[primary eq true and type eq "work"]', {OWNER, BOSS, BABS, GONE}),
    ('emails[display co "at home"]', {BABS}),
    ('emails[display pr and type eq "HOME"]', {BABS}),
    ('not (emails[type eq "home"])', EVERYONE - {BABS}),
    ('emails[type eq "work"].value eq "BJENSEN@EXAMPLE.COM"', {BABS}),
    ('emails[type eq "work"].value eq "babs@jensen.org"', set()),
    ('emails[type eq "home"].value eq "babs@jensen.org"', {BABS}),
]


def test_emails(tx: Tx, world: World) -> None:
    """emails: some value satisfies the comparison; [filter] holds within one value."""
    assert wrong_answers(tx, world.org, EMAILS) == {}


JSON_MULTI_VALUED: Cases = [
    ('phoneNumbers eq "555-555-5555"', {BABS}),
    ('phoneNumbers.value co "4444"', {BABS}),
    ('phoneNumbers[type eq "MOBILE" and value sw "555-555-4"]', {BABS}),
    ('phoneNumbers[type eq "mobile" and value eq "555-555-5555"]', set()),
    ("phoneNumbers pr", {BABS}),
    ('not (phoneNumbers[type eq "work"])', EVERYONE - {BABS}),
    ('addresses[locality eq "HOLLYWOOD" and primary eq true]', {BABS}),
    ("addresses[primary eq false]", set()),
    ('addresses.country eq "us"', {BABS}),
    ("addresses.postalCode pr", set()),
    ("addresses[not (region pr)]", {BABS}),
    ("ims pr", set()),
]


def test_json_multi_valued(tx: Tx, world: World) -> None:
    """Multi-valued attributes kept in the document are searched element by element."""
    assert wrong_answers(tx, world.org, JSON_MULTI_VALUED) == {}


def test_groups_of_a_user(tx: Tx, world: World) -> None:
    """groups, groups.value and groups.display search the member's group memberships."""
    engineers, ops = world.groups["Engineers"], world.groups["Tour Ops"]
    assert users(tx, world.org, f'groups eq "{engineers}"') == {BABS, ZOE}
    assert users(tx, world.org, f'groups[value eq "{ops}"]') == {BABS}
    assert users(tx, world.org, 'groups.display eq "ENGINEERS"') == {BABS, ZOE}
    assert users(tx, world.org, 'groups[display sw "tour"]') == {BABS}
    assert users(tx, world.org, 'groups[type eq "direct"]') == {BABS, ZOE}
    assert users(tx, world.org, "groups pr") == {BABS, ZOE}
    assert users(tx, world.org, "not (groups pr)") == EVERYONE - {BABS, ZOE}
    assert users(tx, world.org, f'groups ne "{ops}"') == EVERYONE - {BABS}


# --- Extensions and Entra -------------------------------------------------------------------


def test_enterprise_attributes(tx: Tx, world: World) -> None:
    """Enterprise extension values, with or without their URN; manager means manager.value."""
    boss = world.id(BOSS)
    urn = ENTERPRISE_USER
    assert users(tx, world.org, f'{urn}:department eq "tour operations"') == {BABS}
    assert users(tx, world.org, 'department sw "tour"') == {BABS}
    assert users(tx, world.org, f'manager eq "{boss}"') == {BABS}
    assert users(tx, world.org, f'{urn}:manager.value eq "{boss}"') == {BABS}
    assert users(tx, world.org, f"{urn}:manager pr") == {BABS}
    assert users(tx, world.org, f'manager ne "{boss}"') == EVERYONE - {BABS}


def test_entra_manager_query(tx: Tx, world: World) -> None:
    """Entra's `id eq "<user>" and manager eq "<manager>"` finds the pair, and only it."""
    babs, boss, zoe = world.id(BABS), world.id(BOSS), world.id(ZOE)
    assert users(tx, world.org, f'id eq "{babs}" and manager eq "{boss}"') == {BABS}
    assert users(tx, world.org, f'id eq "{zoe}" and manager eq "{boss}"') == set()


# --- Unknown attributes and type mismatches -------------------------------------------------


@pytest.mark.parametrize(
    ("filter_text", "named"),
    [
        ('unknownAttr eq "x"', "unknownAttr"),
        ('not (unknownAttr eq "x")', "unknownAttr"),
        ('userName eq "a" or unknownAttr eq "x"', "unknownAttr"),
        ("unknownAttr pr", "unknownAttr"),
        ('unknownAttr[value eq "x"]', "unknownAttr"),
        ('name.nickName eq "x"', "nickName"),
        ('emails.unknown eq "x"', "unknown"),
        ('emails[unknown eq "x"]', "unknown"),
        ('emails[type eq "work" and not (unknown pr)]', "unknown"),
        ('emails[value.sub eq "x"]', "value.sub"),
        ('urn:ietf:params:scim:schemas:core:2.0:User:unknownAttr eq "x"', "unknownAttr"),
        ('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName eq "x"', "userName"),
        ('urn:example:unknown:2.0:User:department eq "x"', "urn:example:unknown:2.0:User"),
        ('members eq "x"', "members"),
    ],
)
def test_unknown_attributes_are_refused(filter_text: str, named: str) -> None:
    """An unknown attribute anywhere in the filter is invalidFilter, naming it."""
    assert named in refused(filter_text)


@pytest.mark.parametrize(
    ("filter_text", "named"),
    [
        ('password eq "secret"', "password"),
        ('meta.location eq "x"', "meta.location"),
        ('meta.version eq "x"', "meta.version"),
        ('manager.displayName eq "x"', "manager.displayName"),
        ('groups.$ref eq "x"', "groups.$ref"),
        ('groups[$ref eq "x"]', "groups.$ref"),
    ],
)
def test_unstored_attributes_are_refused(filter_text: str, named: str) -> None:
    """Attributes that are never stored (password, computed ones) cannot be filtered on."""
    assert named in refused(filter_text)


@pytest.mark.parametrize(
    ("filter_text", "hint"),
    [
        ('active eq "true"', "true or false"),
        ("active eq 1", "true or false"),
        ("active gt false", "only eq and ne"),
        ("active co true", "only eq and ne"),
        ("emails.primary eq 1", "true or false"),
        ('addresses[primary eq "yes"]', "true or false"),
        ("userName eq true", "quoted string"),
        ("userName eq 42", "quoted string"),
        ("title gt 3.5", "quoted string"),
        ('meta.created gt "yesterday"', "ISO 8601"),
        ("meta.lastModified eq 5", "ISO 8601"),
        ('meta.created co "2024"', "not co"),
        ("userName gt null", "null"),
        ('name eq "Barbara"', "name.givenName"),
        ('userName[value eq "x"]', "multi-valued"),
        ('emails[value eq "x" and phoneNumbers[value pr]]', "nested"),
    ],
)
def test_type_mismatches_are_refused(filter_text: str, hint: str) -> None:
    """A value of the wrong type, or an operator the type lacks, is invalidFilter."""
    assert hint in refused(filter_text)


# --- Isolation ------------------------------------------------------------------------------


def test_other_orgs_never_match(tx: Tx, world: World) -> None:
    """Filters on one organization never return another's members or memberships."""
    assert users(tx, world.org, "userName pr") == EVERYONE
    ids = tx.conn.execute(
        select(members.c.id).where(
            members.c.org_id == world.org.id,
            compile_filter(USER, parse_filter(f'emails.value eq "{BABS}"')),
        )
    ).scalars()
    assert set(ids) == {world.id(BABS)}
    assert users(tx, world.org, 'title eq "spy"') == set()
    assert users(tx, world.other, 'groups.display eq "engineers"') == {BABS, "intruder@example.com"}
    assert group_names(tx, world.org, f'members eq "{world.id(BABS)}"') == {"Engineers", "Tour Ops"}


# --- Groups ---------------------------------------------------------------------------------


GROUP_FILTERS: Cases = [
    ('displayName eq "ENGINEERS"', {"Engineers"}),
    ('displayName co "ops"', {"Tour Ops"}),
    ('displayName ne "engineers"', {"Tour Ops", "Empty"}),
    ('externalId eq "G-EXT"', {"Engineers"}),
    ('externalId eq "g-ext"', set()),
    ("members pr", {"Engineers", "Tour Ops"}),
    ("not (members pr)", {"Empty"}),
    ('members[type eq "User"]', {"Engineers", "Tour Ops"}),
    ('meta.resourceType eq "Group"', {"Engineers", "Tour Ops", "Empty"}),
]


def test_group_filters(tx: Tx, world: World) -> None:
    """Group displayName folds case, externalId is exact, members searches memberships."""
    assert wrong_answers(tx, world.org, GROUP_FILTERS, group_names) == {}


def test_group_member_filters(tx: Tx, world: World) -> None:
    """members[value eq id], members eq id and members.value match by member id (caseExact)."""
    babs, zoe = world.id(BABS), world.id(ZOE)
    assert group_names(tx, world.org, f'members[value eq "{zoe}"]') == {"Engineers"}
    assert group_names(tx, world.org, f'members eq "{babs}"') == {"Engineers", "Tour Ops"}
    assert group_names(tx, world.org, f'members.value eq "{babs}" and displayName sw "tour"') == {
        "Tour Ops"
    }
    assert group_names(tx, world.org, f'members eq "{zoe.upper()}"') == set()
    assert group_names(tx, world.org, f'not (members eq "{zoe}")') == {"Tour Ops", "Empty"}


@pytest.mark.parametrize(
    ("filter_text", "named"),
    [
        ('userName eq "x"', "userName"),
        ('members.display eq "x"', "members.display"),
        ("title pr", "title"),
    ],
)
def test_group_refusals(filter_text: str, named: str) -> None:
    """Groups have no User attributes; members.display is not stored and cannot be filtered."""
    assert named in refused(filter_text, GROUP)


# --- Size and depth -------------------------------------------------------------------------


def _longest_or_chain() -> str:
    terms = (MAX_FILTER_NODES + 1) // 2
    return " or ".join(f'userName eq "user{n}@example.com"' for n in range(terms - 1)) + (
        f' or userName eq "{BABS}"'
    )


def test_longest_or_chain_the_parser_accepts(tx: Tx, world: World) -> None:
    """An `or` chain at the parser's node limit compiles and runs on both engines."""
    assert users(tx, world.org, _longest_or_chain()) == {BABS}


def test_two_hundred_term_or_tree(tx: Tx, world: World) -> None:
    """A 200-term `or` tree (left-deep, as the parser builds) stays flat in SQL."""
    tree: Filter = Compare(AttrPath("userName"), "eq", "nobody0@example.com")
    for n in range(1, 199):
        tree = Or(tree, Compare(AttrPath("userName"), "eq", f"nobody{n}@example.com"))
    tree = Or(tree, Compare(AttrPath("emails"), "co", "@jensen.org"))
    assert tree_users(tx, world.org, tree) == {BABS}


def test_deepest_nesting_the_parser_accepts(tx: Tx, world: World) -> None:
    """Alternating and/or nested as deep as the parser allows compiles and runs."""
    filter_text, expected = f'userName eq "{BABS}"', {BABS}
    for level in range(MAX_FILTER_DEPTH * 2):
        if level % 2:
            deeper, answer = f'(userName eq "{BABS}" and ({filter_text}))', {BABS} & expected
        else:
            deeper, answer = f"(title pr or ({filter_text}))", TITLED | expected
        try:
            parse_filter(deeper)
        except InvalidFilter:
            break
        filter_text, expected = deeper, answer
    assert filter_text.count("(") >= MAX_FILTER_DEPTH - 2
    assert users(tx, world.org, filter_text) == expected


def test_hand_built_tree_too_deep_is_refused() -> None:
    """A tree nested beyond the parser's limits is invalidFilter, not a RecursionError."""
    tree: Filter = Compare(AttrPath("userName"), "eq", "x")
    for level in range(5000):
        other = Present(AttrPath("title"))
        tree = And(other, tree) if level % 2 else Or(other, tree)
    with pytest.raises(InvalidFilter, match="nested"):
        compile_filter(USER, tree)


def test_cached_statements_take_new_values(tx: Tx, world: World) -> None:
    """The same filter shape with other values gives other answers (statement cache is safe)."""
    for _ in range(2):
        assert users(tx, world.org, 'emails[type eq "home"].value eq "babs@jensen.org"') == {BABS}
        assert users(tx, world.org, 'emails[type eq "work"].value eq "babs@jensen.org"') == set()
        assert users(tx, world.org, 'phoneNumbers[type eq "mobile"]') == {BABS}
        assert users(tx, world.org, 'phoneNumbers[type eq "pager"]') == set()
        assert users(tx, world.org, 'title co "guide"') == {BABS}
        assert users(tx, world.org, 'title co "chef"') == {ZOE}


# --- Sorting --------------------------------------------------------------------------------


def _sorted(tx: Tx, org: Org, sort_by: str) -> list[str]:
    path = parse_attr_path(sort_by)
    assert path is not None
    key = sort_key(USER, path)
    query = (
        select(members.c.user_name)
        .where(members.c.org_id == org.id, key.is_not(None))
        .order_by(key, members.c.seq)
    )
    return list(tx.conn.execute(query).scalars())


# Their order does not depend on how a collation weighs punctuation.
WORDS = {OWNER, BOSS, BABS, ZOE, GONE, BARE, ROBERT}


def test_sort_keys(tx: Tx, world: World) -> None:
    """sortBy orders by the folded value; emails by the primary (else first) address."""
    by_user_name = [name for name in _sorted(tx, world.org, "userName") if name in WORDS]
    assert by_user_name == sorted(WORDS)
    assert _sorted(tx, world.org, "DISPLAYNAME") == [BABS, BOSS, ROBERT, ZOE]
    assert _sorted(tx, world.org, "name.familyName") == [BABS, ZOE]
    assert _sorted(tx, world.org, "urn:ietf:params:scim:schemas:core:2.0:User:externalId") == [
        BABS,
        BOSS,
        ZOE,
    ]
    assert _sorted(tx, world.org, "emails") == [BABS, BOSS, GONE, OWNER, ZOE]
    assert _sorted(tx, world.org, "emails.value") == [BABS, BOSS, GONE, OWNER, ZOE]


def test_sort_by_timestamps(tx: Tx, world: World) -> None:
    """meta.created and meta.lastModified sort as instants."""
    tx.now = datetime(2023, 12, 31, 23, 0, tzinfo=UTC)
    add(tx, world.org, "early@example.com")
    assert _sorted(tx, world.org, "meta.created")[0] == "early@example.com"
    assert _sorted(tx, world.org, "meta.lastModified")[0] == "early@example.com"


def test_group_sort_key(tx: Tx, world: World) -> None:
    """Groups sort by displayName (folded)."""
    key = sort_key(GROUP, AttrPath("displayName"))
    query = select(groups.c.display_name).where(groups.c.org_id == world.org.id).order_by(key)
    assert list(tx.conn.execute(query).scalars()) == ["Empty", "Engineers", "Tour Ops"]


@pytest.mark.parametrize(
    ("resource", "path"),
    [
        (USER, AttrPath("title")),
        (USER, AttrPath("unknownAttr")),
        (USER, AttrPath("phoneNumbers", "value")),
        (GROUP, AttrPath("userName")),
        (GROUP, AttrPath("members")),
    ],
)
def test_unsortable_attributes(resource: Any, path: AttrPath) -> None:
    """Any other sortBy is invalidValue, listing the sortable attributes."""
    with pytest.raises(InvalidValue, match="displayName"):
        sort_key(resource, path)


# --- Query plans ----------------------------------------------------------------------------


def _bulk_members(tx: Tx, org: Org, count: int) -> None:
    rows, emails = [], []
    for n in range(count):
        member_id, name = new_id(), f"bulk{n}@example.com"
        rows.append(
            {
                "id": member_id,
                "org_id": org.id,
                "user_name": name,
                "user_name_key": name,
                "external_id": f"bulk-{n}",
                "active": True,
                "org_role": "Member",
                "source": "scim",
                "attributes": {"userName": name},
                "version": 1,
                "created": T0,
                "last_modified": T0,
            }
        )
        emails.append(
            {
                "member_id": member_id,
                "org_id": org.id,
                "position": 0,
                "value": name,
                "value_key": name,
                "type": "work",
                "primary": True,
            }
        )
    tx.conn.execute(insert(members), rows)
    tx.conn.execute(insert(member_emails), emails)


def _plan(tx: Tx, query: Select[Any]) -> str:
    compiled = query.compile(dialect=tx.conn.dialect)
    if tx.conn.dialect.name == "sqlite":
        params = tuple(compiled.params[name] for name in compiled.positiontup or ())
        rows = tx.conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params)
        return "\n".join(row[3] for row in rows)
    rows = tx.conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
    return "\n".join(row[0] for row in rows)


def _index(name: str) -> str:
    return f"(Index Scan using|Index Only Scan using|Bitmap Index Scan on) {name}"


_EMAIL_PLANS = (
    # PostgreSQL: a semi-join driven by the email index, then members by id.
    (_index("ix_member_emails_org_value_key"), _index("uq_members_id")),
    # SQLite: the email index, then members walked by the matching seq, not the whole org.
    (
        r"SEARCH member_emails USING INDEX ix_member_emails_org_value_key "
        r"\(org_id=\? AND value_key=\?\)",
        r"SEARCH members USING .*(seq|rowid)=\?",
    ),
)
PLANS = {
    'userName eq "bulk1234@example.com"': (
        (_index("uq_members_org_id_user_name_key"),),
        (r"SEARCH members USING .*\(org_id=\? AND user_name_key=\?\)",),
    ),
    'externalId eq "bulk-1234"': (
        (_index("ix_members_org_external_id"),),
        (
            r"SEARCH members USING INDEX ix_members_org_external_id \(org_id=\? AND external_id=\?\)",
        ),
    ),
    'emails.value eq "BULK1234@example.com"': _EMAIL_PLANS,
    'emails[type eq "work"].value eq "bulk1234@example.com"': _EMAIL_PLANS,
}


@pytest.mark.parametrize("filter_text", list(PLANS))
def test_lookups_use_indexes(tx: Tx, world: World, filter_text: str) -> None:
    """userName, externalId and emails.value lookups are index searches, never a scan."""
    _bulk_members(tx, world.org, 2000)
    query = select(members.c.user_name).where(
        members.c.org_id == world.org.id, compile_filter(USER, parse_filter(filter_text))
    )
    assert set(tx.conn.execute(query).scalars()) == {"bulk1234@example.com"}
    pg_plan, sqlite_plan = PLANS[filter_text]
    if tx.conn.dialect.name == "postgresql":
        tx.conn.execute(text("ANALYZE members"))
        tx.conn.execute(text("ANALYZE member_emails"))
        plan = _plan(tx, query)
        assert all(re.search(pattern, plan) for pattern in pg_plan), plan
        assert "Seq Scan" not in plan, plan
        assert "SubPlan" not in plan, plan  # not re-run for every member
        return
    # SQLite databases are rarely ANALYZEd: the plan must hold without statistics too.
    for analyze in (False, True):
        if analyze:
            tx.conn.execute(text("ANALYZE"))
        plan = _plan(tx, query)
        assert all(re.search(pattern, plan) for pattern in sqlite_plan), plan
        assert "SCAN" not in plan, plan  # SQLite's word for a walk of a whole table or index
