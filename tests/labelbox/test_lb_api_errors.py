"""GraphQL error codes, HTTP failures and retries of the Labelbox API client (respx, no
sleeping: every wait goes through an injected recorder)."""

from __future__ import annotations

import httpx
import pytest
from bridge_labelbox.graphql import LabelboxConflict

from bridge.errors import AuthError, FormatError, NotFoundError, RemoteError

from .test_lb_api_fakes import (
    API_KEY,
    ENDPOINT,
    PROJECT_ID,
    graphql_error,
    make_api,
    project,
)


@pytest.mark.parametrize(
    ("code", "error_class", "words"),
    [
        ("AUTHENTICATION_ERROR", AuthError, "refused the API key"),
        ("AUTHORIZATION_ERROR", AuthError, "denied access: not a member"),
        ("RESOURCE_NOT_FOUND", NotFoundError, "no such object: not a member"),
        ("RESOURCE_CONFLICT", LabelboxConflict, "conflict: not a member"),
        ("GRAPHQL_VALIDATION_FAILED", RemoteError, "rejected the request"),
        ("MALFORMED_REQUEST", RemoteError, "(MALFORMED_REQUEST): not a member"),
        ("INTERNAL_SERVER_ERROR", RemoteError, "(INTERNAL_SERVER_ERROR): not a member"),
    ],
)
def test_lb_graphql_error_codes_map_to_bridge_errors(fake, sleep, code, error_class, words):
    fake.on("GetProjectPyApi", graphql_error(code, "not a member"))
    api = make_api(sleep)
    with pytest.raises(error_class) as caught:
        api.get_project(PROJECT_ID)
    assert words in caught.value.message
    assert "GetProjectPyApi" in caught.value.where
    assert API_KEY not in str(caught.value)
    assert len(fake.calls) == 1  # a GraphQL error is an answer: never retried
    assert sleep.waits == []


def test_lb_conflict_is_a_remote_error(fake, sleep):
    fake.on("GetProjectPyApi", graphql_error("RESOURCE_CONFLICT", "exists"))
    with pytest.raises(RemoteError):
        make_api(sleep).get_project(PROJECT_ID)


def test_lb_http_401_with_graphql_body_is_auth_error_without_key(fake, sleep):
    fake.on("GetProjectPyApi", graphql_error("AUTHENTICATION_ERROR", "Invalid API key", 401))
    with pytest.raises(AuthError) as caught:
        make_api(sleep).get_project(PROJECT_ID)
    assert "LABELBOX_API_KEY" in caught.value.hint
    assert API_KEY not in str(caught.value)


def test_lb_bare_http_403_is_auth_error(fake, sleep):
    fake.on("GetProjectPyApi", httpx.Response(403, text="API access is disabled for this plan"))
    with pytest.raises(AuthError) as caught:
        make_api(sleep).get_project(PROJECT_ID)
    assert "API access is disabled" in caught.value.message


def test_lb_requests_carry_bearer_key_and_json_body(fake, sleep):
    fake.on("GetProjectPyApi", {"project": project()})
    result = make_api(sleep).get_project(PROJECT_ID)
    assert result["name"] == "roof-wear-highres"
    (call,) = fake.calls
    assert call.request.headers["authorization"] == f"Bearer {API_KEY}"
    assert call.request.headers["content-type"] == "application/json"
    assert str(call.request.url) == ENDPOINT
    assert "project(where: {id: $projectId})" in call.query
    assert call.variables == {"projectId": PROJECT_ID}


def test_lb_null_project_is_not_found(fake, sleep):
    fake.on("GetProjectPyApi", {"project": None})
    with pytest.raises(NotFoundError) as caught:
        make_api(sleep).get_project("nope")
    assert "nope" in caught.value.message


def test_lb_429_is_retried_honouring_retry_after(fake, sleep):
    fake.on(
        "GetProjectPyApi",
        httpx.Response(429, headers={"Retry-After": "7"}, text="Too Many Requests"),
        {"project": project()},
    )
    assert make_api(sleep).get_project(PROJECT_ID)["id"] == PROJECT_ID
    assert sleep.waits == [7.0]
    assert len(fake.calls) == 2


def test_lb_5xx_query_is_retried_with_backoff(fake, sleep):
    fake.on(
        "GetProjectPyApi",
        httpx.Response(502, text="Bad Gateway"),
        httpx.Response(503, text="upstream connect error or disconnect/reset before headers"),
        {"project": project()},
    )
    assert make_api(sleep).get_project(PROJECT_ID)["id"] == PROJECT_ID
    assert sleep.waits == [0.5, 1.0]


def test_lb_5xx_mutation_is_not_retried(fake, sleep):
    """A mutation the server may have executed is not sent twice (no duplicate dataset)."""
    fake.on("CreateDatasetPyApi", httpx.Response(503, text="Service Unavailable"))
    with pytest.raises(RemoteError) as caught:
        make_api(sleep).create_dataset("photos")
    assert "HTTP 503" in caught.value.message
    assert len(fake.calls) == 1
    assert sleep.waits == []


def test_lb_429_mutation_is_retried(fake, sleep):
    fake.on(
        "CreateDatasetPyApi",
        httpx.Response(429, text="slow down"),
        {
            "createDataset": {
                "id": "ds-1",
                "name": "photos",
                "createdAt": "x",
                "updatedAt": "x",
                "description": None,
                "rowCount": 0,
            }
        },
    )
    assert make_api(sleep).create_dataset("photos")["id"] == "ds-1"
    assert sleep.waits == [0.5]


def test_lb_graphql_rate_limit_message_is_retried(fake, sleep):
    fake.on(
        "GetProjectPyApi",
        httpx.Response(200, json={"message": "You have exceeded your API limit."}),
        graphql_error("RATE_LIMITED", "slow down"),
        {"project": project()},
    )
    assert make_api(sleep).get_project(PROJECT_ID)["id"] == PROJECT_ID
    assert sleep.waits == [0.5, 1.0]


def test_lb_rate_limit_that_never_ends_is_remote_error(fake, sleep):
    fake.on("GetProjectPyApi", httpx.Response(429, text="Too Many Requests"))
    with pytest.raises(RemoteError) as caught:
        make_api(sleep, attempts=3).get_project(PROJECT_ID)
    assert "rate-limiting" in caught.value.message
    assert len(fake.calls) == 3
    assert sleep.waits == [0.5, 1.0]


def test_lb_non_json_answer_is_format_error(fake, sleep):
    fake.on("GetProjectPyApi", httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(FormatError) as caught:
        make_api(sleep).get_project(PROJECT_ID)
    assert "maintenance" in caught.value.message


def test_lb_answer_without_data_is_format_error(fake, sleep):
    fake.on("GetProjectPyApi", httpx.Response(200, json={"data": None}))
    with pytest.raises(FormatError):
        make_api(sleep).get_project(PROJECT_ID)


def test_lb_project_list_pages_with_skip_until_short_page(fake, sleep):
    first = [project(f"p{i}", f"project {i}") for i in range(100)]
    second = [project("p100", "project 100")]
    fake.on("GetProjectsPyApi", {"projects": first}, {"projects": second})
    names = [p["name"] for p in make_api(sleep).list_projects()]
    assert names == [f"project {i}" for i in range(101)]
    queries = [call.query for call in fake.calls]
    assert "skip: 0 first: 100" in queries[0]
    assert "skip: 100 first: 100" in queries[1]
    assert all(call.variables == {"deleted": False} for call in fake.calls)


def test_lb_ontology_normalized_may_arrive_as_a_json_string(fake, sleep):
    normalized = '{"tools": [{"tool": "rectangle", "name": "car"}], "classifications": []}'
    fake.on(
        "GetProjectOntologyPyApi",
        {
            "project": {
                "ontology": {
                    "classificationSchemaCount": 0,
                    "createdAt": "x",
                    "description": None,
                    "mediaType": "IMAGE",
                    "name": "o",
                    "normalized": normalized,
                    "objectSchemaCount": 1,
                    "id": "onto-1",
                    "updatedAt": "x",
                }
            }
        },
    )
    assert make_api(sleep).project_ontology(PROJECT_ID)["tools"][0]["name"] == "car"
