"""snowflake: Feast's Snowflake offline and online stores, `SnowflakeSource` tables.

The feature tables are still built by the generated transforms (pandas); loading them into
Snowflake tables named after the views is the deployment's job (no live Snowflake here).
"""

from __future__ import annotations

import libcst as cst

from nb2feast.repo.targets._base import SourceParts, Target

SETTINGS = ("ACCOUNT", "USER", "PASSWORD", "ROLE", "WAREHOUSE", "DATABASE")
ENV = tuple(f"NB2FEAST_SNOWFLAKE_{setting}" for setting in SETTINGS)


def _connection(indent: str) -> str:
    return "".join(
        f'{indent}{setting.lower()}: "${{{variable}}}"\n'
        for setting, variable in zip(SETTINGS, ENV, strict=True)
    )


FEATURE_STORE_YAML = (
    "project: {project}\n"
    "# The connection comes from the environment variables NB2FEAST_SNOWFLAKE_ACCOUNT, _USER,\n"
    "# _PASSWORD, _ROLE, _WAREHOUSE and _DATABASE, which Feast substitutes when it "
    "loads this file.\n"
    "registry: data/registry.db\n"
    "provider: local\n"
    "offline_store:\n"
    "  type: snowflake.offline\n" + _connection("  ") + "online_store:\n"
    "  type: snowflake.online\n" + _connection("  ") + "entity_key_serialization_version: 3\n"
)


class _SnowflakeTarget(Target):
    def source_kwargs(self, parts: SourceParts) -> dict[str, cst.BaseExpression | None]:
        """A table in the connection's database and schema, named after the view."""
        return {
            "name": parts.name,
            "table": parts.table,
            "timestamp_field": parts.timestamp,
            "created_timestamp_column": parts.created,
        }


TARGET = _SnowflakeTarget(
    name="snowflake",
    engine="pandas",
    yaml=FEATURE_STORE_YAML,
    source_class="SnowflakeSource",
    source_module="feast",
    env=ENV,
)
