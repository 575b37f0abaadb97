"""The contract helpers other tests reuse: matching, deepObject queries, request and response checks."""

from __future__ import annotations

import pytest

from reconciler.sandbox.spec import load_spec, validate_request, validate_response

GROUP = {"id": "f5586561-8ff0-4291-a0ac-84fe544797bd", "name": "Ops", "record_type": "billing_group",
         "created_at": "2019-10-15T10:07:15.527Z", "updated_at": "2019-10-15T10:07:15.527Z"}
IP = {"id": "x", "ip_address": "10.0.0.1", "source": "api", "status": "pending", "user_id": "u"}


@pytest.mark.parametrize(("path", "template"), [
    ("/phone_numbers/slim", "/phone_numbers/slim"),
    ("/phone_numbers/123", "/phone_numbers/{id}"),
    ("/portouts/events", "/portouts/events"),
    ("/addresses/actions/validate", "/addresses/actions/validate"),
    ("/addresses/actions", "/addresses/{id}"),
    ("/v2/mobile_phone_numbers", "/v2/mobile_phone_numbers"),
])
def test_literal_segments_win_over_parameters(path: str, template: str) -> None:
    found = load_spec().match(path)
    assert found is not None and found[0] == template


def test_unknown_paths_do_not_match() -> None:
    spec = load_spec()
    assert spec.match("/billing_groups/") is None
    assert spec.match("/nothing") is None
    assert spec.find("GET", "/v2/billing_groups/abc") is not None
    assert spec.find("PATCH", "/v2/access_ip_address/abc") is None


def test_validate_request_accepts_what_the_spec_allows() -> None:
    assert validate_request("POST", "/v2/billing_groups", [], {"name": "Ops"}) == []
    assert validate_request("GET", "/v2/addresses", [("filter[customer_reference][eq]", "x"),
                                                     ("filter[customer_reference][contains]", "y"),
                                                     ("page[number]", "2"), ("page[size]", "250")]) == []
    assert validate_request("GET", "/v2/addresses?filter[customer_reference]=x&sort=street_address") == []
    assert validate_request("GET", "/v2/access_ip_address", {"filter[created_at][gte]": "2024-01-01T00:00:00Z"}) == []


@pytest.mark.parametrize(("method", "path", "query", "body", "expected"), [
    ("GET", "/v2/billing_groups", [("page[size]", "251")], None, "10015 Bad Request: The 'page[size]' parameter "
                                                                 "must be less than or equal to 250. (at page[size])"),
    ("GET", "/v2/billing_groups", [("page[number]", "0")], None, "greater than or equal to 1"),
    ("GET", "/v2/billing_groups", [("page[sise]", "10")], None, "unknown query parameter 'page[sise]'"),
    ("GET", "/v2/billing_groups", [("page", "3")], None, "The 'page' parameter must be an object"),
    ("GET", "/v2/access_ip_address", [("filter[created_at][after]", "2024-01-01T00:00:00Z")], None,
     "filter[created_at]"),
    ("GET", "/v2/addresses", [("filter[customer_reference]", "x"), ("filter[customer_reference][eq]", "y")],
     None, "conflicts"),
    ("POST", "/v2/addresses", None, {"first_name": "A"}, "10004 Missing required parameter: The 'last_name' "
                                                           "field is required. (at /last_name)"),
    ("POST", "/v2/authentication_providers", None, b"{oops", "not valid JSON"),
    ("DELETE", "/v2/billing_groups/not-a-uuid", None, None, "10006"),
    ("PUT", "/v2/billing_groups", None, None, "no operation PUT"),
])
def test_validate_request_names_each_problem(method: str, path: str, query: object, body: object,
                                             expected: str) -> None:
    problems = validate_request(method, path, query, body)  # type: ignore[arg-type]
    assert any(expected in p for p in problems), problems


def test_validate_response_holds_each_operation_to_its_schema() -> None:
    assert validate_response("GET", "/v2/billing_groups/" + GROUP["id"], 200, {"data": GROUP}) == []
    assert validate_response("POST", "/access_ip_address", 200, IP) == []
    # The access IP area answers with the bare resource: wrapping it is a violation.
    assert validate_response("POST", "/v2/access_ip_address", 200, {"data": IP})
    assert validate_response("GET", "/v2/billing_groups/x", 200, {"data": {**GROUP, "created_at": "yesterday"}})
    assert validate_response("GET", "/v2/billing_groups", 201, {"data": []}) == [
        "ListBillingGroups: status 201 is not declared by the spec"]


def test_validate_response_knows_each_area_error_envelope() -> None:
    string_code = {"errors": [{"code": "10005", "title": "Resource not found"}]}
    integer_code = {"errors": [{"code": 10005, "title": "Resource not found"}]}
    # Billing groups' 404 is `Errors`, whose code is an integer; its default is `billing_Errors` (string).
    assert validate_response("GET", "/v2/billing_groups/x", 404, integer_code) == []
    assert validate_response("GET", "/v2/billing_groups/x", 404, string_code)
    assert validate_response("GET", "/v2/billing_groups/x", 401, string_code) == []
    # Undeclared error statuses fall back to the area's shape, or the generic one.
    assert validate_response("GET", "/v2/access_ip_address/x", 401, integer_code)
    assert validate_response("GET", "/v2/addresses/1", 401, {"message": "no"})
    assert validate_response("GET", "/v2/addresses/1", 401, string_code) == []


def test_error_code_types_per_operation() -> None:
    spec = load_spec()
    ops = spec.operations
    assert spec.integer_codes(ops[("GET", "/billing_groups/{id}")], 404) is True
    assert spec.integer_codes(ops[("GET", "/billing_groups/{id}")], 500) is False
    assert spec.integer_codes(ops[("POST", "/access_ip_address")], 401) is False
    assert spec.integer_codes(ops[("GET", "/addresses")], 422) is False
