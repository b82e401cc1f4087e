"""Labelbox's GraphQL vocabulary: the operations we send and how its errors read.

Every Labelbox call is `POST <endpoint>` (default https://api.labelbox.com/graphql) with a
JSON body `{"query", "variables"}`; the answer is `{"data": ...}` and, on failure,
`{"errors": [{"message", "extensions": {"code"}}]}`. The operation texts below follow the
labelbox SDK 7.17.0 (same operation names, arguments and field lists) so the server sees
the requests it is used to. Vendor terms:

* *data row*: one asset (image, video, text...) in a *dataset*; its user-chosen *global key*
  is unique in the whole organization.
* *batch*: a set of data rows queued into a project for labeling.
* *task*: a server-side background job (an export, a data row upsert) polled until
  COMPLETE or FAILED.
* *label import* (ground truth) and *MAL import* (model-assisted labeling, shown to
  labelers as pre-annotations): NDJSON annotation uploads polled until FINISHED or FAILED.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

from bridge.errors import AuthError, BridgeError, FormatError, NotFoundError, RemoteError

PROJECT_FIELDS = (
    "autoAuditNumberOfLabels autoAuditPercentage createdAt dataRowCount description "
    "editorTaskType isBenchmarkEnabled isConsensusEnabled lastActivityTime allowedMediaType "
    "modelSetupComplete name setupComplete id updatedAt uploadType"
)
DATASET_FIELDS = "createdAt description name rowCount id updatedAt"
TASK_FIELDS = "completionPercentage createdAt errors metadata name result status type id updatedAt"
IMPORT_FIELDS = "errorFileUrl inputFileUrl name progress state statusFileUrl id"
PAGE_SIZE = 100
"""Labelbox's offset pagination: `skip: N first: 100`; a short page is the last one."""

GET_PROJECT = (
    "query GetProjectPyApi($projectId: ID!)"
    f"{{project(where: {{id: $projectId}}){{{PROJECT_FIELDS}}}}}"
)
GET_PROJECT_ONTOLOGY = (
    "query GetProjectOntologyPyApi($projectId: ID!)"
    "{project(where: {id: $projectId}){ontology{classificationSchemaCount createdAt "
    "description mediaType name normalized objectSchemaCount id updatedAt}}}"
)
GET_USER = "query GetUserPyApi{user{id}}"
GET_USER_TASK = (
    "query GetUserCreatedTasksPyApi($taskId: ID!, $userId: ID!)"
    "{user(where: {id: $userId}){createdTasks(where: {id: $taskId} skip: 0 first: 1)"
    f"{{{TASK_FIELDS}}}}}}}"
)
GET_DATASETS_BY_NAME = (
    "query GetDatasetsPyApi($name: String!, $deleted: Boolean!)"
    "{datasets(where: {AND: [{name: $name}, {deleted: $deleted}]} skip: 0 first: 100)"
    f"{{{DATASET_FIELDS}}}}}"
)
CREATE_DATASET = (
    "mutation CreateDatasetPyApi($name: String!)"
    f"{{createDataset(data: {{name: $name}}) {{{DATASET_FIELDS}}}}}"
)
EXPORT_PROJECT = (
    "mutation exportDataRowsInProjectPyApi($input: ExportDataRowsInProjectInput!)"
    "{exportDataRowsInProject(input: $input){taskId isStreamable}}"
)
EXPORT_METADATA_HEADER = (
    "query GetExportMetadataHeaderPyApi($where: WhereUniqueIdInput, $streamType: TaskStreamType!)"
    "{task(where: $where){exportMetadataHeader(streamType: $streamType){totalSize totalLines}}}"
)
EXPORT_FILE_FROM_OFFSET = (
    "query GetExportFileFromOffsetPyApi"
    "($where: WhereUniqueIdInput, $streamType: TaskStreamType!, $offset: UInt64!)"
    "{task(where: $where){exportFileFromOffset(streamType: $streamType, offset: $offset)"
    "{offsets {start end} lines {start end} file}}}"
)
GLOBAL_KEYS_JOB = (
    "query getDataRowsForGlobalKeysPyApi($globalKeys: [ID!]!)"
    "{dataRowsForGlobalKeys(where: {ids: $globalKeys}) {jobId}}"
)
GLOBAL_KEYS_RESULT = (
    "query getDataRowsForGlobalKeysResultPyApi($jobId: ID!)"
    "{dataRowsForGlobalKeysResult(jobId: {id: $jobId}) {data {fetchedDataRows {id} "
    "notFoundGlobalKeys accessDeniedGlobalKeys} jobStatus}}"
)
UPLOAD_FILE = (
    "mutation UploadFile($file: Upload!, $contentLength: Int!, $sign: Boolean)"
    "{uploadFile(file: $file, contentLength: $contentLength, sign: $sign) {url filename}}"
)
UPSERT_DATA_ROWS = (
    "mutation UpsertDataRowsPyApi($manifestUri: String!)"
    "{upsertDataRows(data: {manifestUri: $manifestUri})"
    "{id createdAt updatedAt name status completionPercentage result errors type metadata}}"
)
SUCCESSFUL_DATA_ROW_IMPORTS = (
    "query SuccessesfulDataRowImportsPyApi($taskId: ID!, $first: Int, $from: String)"
    "{successesfulDataRowImports(data: {taskId: $taskId, first: $first, from: $from})"
    "{nodes {id externalId globalKey rowData} after total}}"
)
FAILED_DATA_ROW_IMPORTS = (
    "query FailedDataRowImportsPyApi($taskId: ID!, $first: Int, $from: String)"
    "{failedDataRowImports(data: {taskId: $taskId, first: $first, from: $from})"
    "{after total results {message spec {externalId globalKey rowData}}}}"
)
DATA_ROWS_PROCESSED = (
    "query CheckAllDataRowsHaveBeenProcessedPyApi($globalKeys: [ID!])"
    "{queryAllDataRowsHaveBeenProcessed(globalKeys: $globalKeys) {allDataRowsHaveBeenProcessed}}"
)
CREATE_BATCH = (
    "mutation createBatchV2PyApi($projectId: ID!, $batchInput: CreateBatchInput!)"
    "{project(where: {id: $projectId}){createBatchV2(input: $batchInput)"
    "{batch {consensusSettingsJson createdAt name size id updatedAt} failedDataRowIds}}}"
)
IMPORT_KINDS = {
    "label": ("createLabelImport", "labelImport", "LabelImport"),
    "mal": (
        "createModelAssistedLabelingPredictionImport",
        "modelAssistedLabelingPredictionImport",
        "MALPredictionImport",
    ),
}
"""mode -> (create mutation field, lookup query field, operation name stem)."""


def create_import_mutation(mode: str) -> str:
    """The multipart mutation that uploads an NDJSON file as a label or MAL import."""
    field, _, stem = IMPORT_KINDS[mode]
    return (
        f"mutation create{stem}ByFilePyApi"
        "($projectId: ID!, $name: String!, $file: Upload!, $contentLength: Int!)"
        f"{{{field}(data: {{projectId: $projectId name: $name "
        "filePayload: {file: $file, contentLength: $contentLength}})"
        f"{{{IMPORT_FIELDS} project{{id}}}}}}"
    )


def get_import_query(mode: str) -> str:
    """The query that reads an import's state by project and import name."""
    _, field, stem = IMPORT_KINDS[mode]
    return (
        f"query get{stem}PyApi($projectId: ID!, $name: String!)"
        f"{{{field}(where: {{projectId: $projectId, name: $name}}){{{IMPORT_FIELDS}}}}}"
    )


def list_projects_query(skip: int) -> str:
    """One page of projects (offset pagination, like the SDK: literals, not variables)."""
    return (
        "query GetProjectsPyApi($deleted: Boolean!)"
        f"{{projects(where: {{deleted: $deleted}} skip: {int(skip)} first: {PAGE_SIZE})"
        f"{{{PROJECT_FIELDS}}}}}"
    )


def operation_name(query: str) -> str:
    """`createBatchV2PyApi` from `mutation createBatchV2PyApi(...)`, for error messages."""
    head = query.split("(", 1)[0].split("{", 1)[0].split()
    return head[1] if len(head) > 1 else "query"


# ---------------------------------------------------------------------------- errors

AUTH_HINT = "set LABELBOX_API_KEY to a valid API key (Labelbox > Workspace settings > API keys)"
RATE_LIMIT_CODES = frozenset({"RATE_LIMITED", "RATE_LIMIT_EXCEEDED", "TOO_MANY_REQUESTS"})


class LabelboxConflict(RemoteError):
    """Labelbox refused to create something that already exists (RESOURCE_CONFLICT)."""


def error_code(error: Any) -> str | None:
    """`errors[i].extensions.code`, or None."""
    if isinstance(error, dict) and isinstance(error.get("extensions"), dict):
        code = error["extensions"].get("code")
        return str(code) if code is not None else None
    return None


def error_list(errors: Any) -> list:
    """GraphQL `errors` as a non-empty list, whatever shape arrived."""
    if isinstance(errors, list) and errors:
        return errors
    return [errors]


def error_message(error: Any) -> str:
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])[:500]
    return str(error)[:500]


def is_rate_limited(body: Any) -> bool:
    """True when a GraphQL answer says we were rate-limited (an error code, an error
    with HTTP status 429, or the top-level `message` "You have exceeded ...")."""
    if not isinstance(body, dict):
        return False
    message = body.get("message")
    if isinstance(message, str) and message.startswith("You have exceeded"):
        return True
    for error in error_list(body.get("errors") or []):
        if error_code(error) in RATE_LIMIT_CODES:
            return True
        extensions = error.get("extensions") if isinstance(error, dict) else None
        exception = extensions.get("exception") if isinstance(extensions, dict) else None
        if isinstance(exception, dict) and str(exception.get("status")) == "429":
            return True
    return False


def error_for_graphql(errors: list, where: str) -> BridgeError:
    """The `BridgeError` for a non-empty GraphQL `errors` list (first known code wins)."""
    by_code = {error_code(error): error for error in errors}
    if "AUTHENTICATION_ERROR" in by_code:
        return AuthError("Labelbox refused the API key", where=where, hint=AUTH_HINT)
    if "AUTHORIZATION_ERROR" in by_code:
        message = error_message(by_code["AUTHORIZATION_ERROR"])
        return AuthError(
            f"Labelbox denied access: {message}",
            where=where,
            hint="ask a workspace admin for access to this project, or use another API key",
        )
    if "RESOURCE_NOT_FOUND" in by_code:
        message = error_message(by_code["RESOURCE_NOT_FOUND"])
        return NotFoundError(f"Labelbox has no such object: {message}", where=where)
    if "RESOURCE_CONFLICT" in by_code:
        message = error_message(by_code["RESOURCE_CONFLICT"])
        return LabelboxConflict(f"Labelbox reports a conflict: {message}", where=where)
    for code in ("GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED"):
        if code in by_code:
            return RemoteError(
                f"Labelbox rejected the request ({code}): {error_message(by_code[code])}",
                where=where,
                hint="the Labelbox API may have changed; upgrade label-bridge",
            )
    first = errors[0]
    code = error_code(first) or "error"
    return RemoteError(f"Labelbox failed ({code}): {error_message(first)}", where=where)


# ------------------------------------------------------------------------ answer shapes

DUPLICATE_GLOBAL_KEY = "Duplicate global key"
"""Start of the message Labelbox gives a data row whose global key already exists."""


@dataclass
class ImportRowError:
    """One annotation Labelbox refused in an import, with the data row it belongs to."""

    uuid: str | None
    data_row: dict[str, Any]
    messages: list[str]

    def describe(self) -> str:
        row = describe_data_row(self.data_row)
        return f"{row}, annotation {self.uuid}: {'; '.join(self.messages) or 'failed'}"


def describe_data_row(data_row: dict[str, Any]) -> str:
    """`data row globalKey=img-1 (id ck...)` from a `dataRow` reference."""
    key, row_id = data_row.get("globalKey"), data_row.get("id")
    if key and row_id:
        return f"data row globalKey={key} (id {row_id})"
    if key:
        return f"data row globalKey={key}"
    return f"data row id={row_id}"


def dig(
    data: Any,
    *path: str,
    where: str,
    expect: type | tuple[type, ...] = dict,
    optional: bool = False,
) -> Any:
    """`data[path[0]][path[1]]...` checked to be an `expect`: a missing or mistyped value
    is a `FormatError` naming the path (or None when `optional` and absent)."""
    value = data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if value is None and optional:
        return None
    if not isinstance(value, expect) or (isinstance(value, bool) and expect is not bool):
        raise FormatError(
            f"malformed Labelbox answer: {'.'.join(path) or 'value'} is {type(value).__name__}",
            where=where,
            hint="the Labelbox API may have changed; upgrade label-bridge",
        )
    return value


def expect_object(value: Any, where: str) -> dict[str, Any]:
    return dig(value, where=where)


def expect_int(value: Any, name: str, where: str) -> int:
    """An integer Labelbox may send as a number or a string (UInt64)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise FormatError(f"malformed Labelbox answer: {name} is {value!r}", where=where) from None


def parse_error_file(content: bytes, sent: dict[str, dict]) -> list[ImportRowError]:
    """The refused annotations of an import's error (or status) NDJSON file."""
    errors = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            status = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise FormatError(
                "malformed import error file", where=f"error file line {number}"
            ) from None
        if isinstance(status, dict) and status.get("status") != "SUCCESS":
            errors.append(row_error(status, sent))
    return errors


def row_error(status: dict[str, Any], sent: dict[str, dict]) -> ImportRowError:
    """An `ImportRowError` from one error-file line (`uuid`, `dataRow`, `errors`)."""
    uuid = status.get("uuid") if isinstance(status.get("uuid"), str) else None
    reported = status.get("dataRow") if isinstance(status.get("dataRow"), dict) else {}
    data_row = {**sent.get(uuid or "", {}), **reported}
    errors = status.get("errors") if isinstance(status.get("errors"), list) else []
    messages = []
    for error in errors:
        if isinstance(error, dict):
            parts = (error.get("name"), error.get("message"))
            messages.append(": ".join(str(part) for part in parts if part))
        else:
            messages.append(str(error))
    return ImportRowError(uuid, data_row, messages)


def failure_key(item: dict[str, Any]) -> str | None:
    """The global key of a data row an upsert refused (`spec.globalKey`)."""
    spec = item.get("spec")
    key = spec.get("globalKey") if isinstance(spec, dict) else None
    return key if isinstance(key, str) else None


def is_duplicate_key(item: dict[str, Any]) -> bool:
    return str(item.get("message") or "").startswith(DUPLICATE_GLOBAL_KEY)


def summarize_error_text(raw: Any) -> str:
    """A readable message from a task's `errors` value: JSON with error/message fields,
    a list of such objects, or plain text."""
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            return raw.strip()[:500]
    if isinstance(value, dict):
        for key in ("error", "message", "errorMessage", "errors"):
            if value.get(key):
                return summarize_error_text(value[key])
        return json.dumps(value)[:500]
    if isinstance(value, list):
        return "; ".join(summarize_error_text(part) for part in value[:5])[:500]
    return str(value)[:500] if value is not None else ""
