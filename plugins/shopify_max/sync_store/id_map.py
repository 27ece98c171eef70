"""``id_map``: Shopify gid ⇄ MAX key, per entity. Recorded twice the same way is a no-op; a conflict raises."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from shopify_max.clock import utcnow
from shopify_max.sync_store.common import TableAccess
from shopify_max.sync_store.tables import ID_MAP_ENTITIES, id_map


class IdMappingConflict(Exception):
    """A Shopify gid or a MAX key is already mapped to something else."""


class IdMap(TableAccess):
    def record_id_mapping(self, entity: str, shopify_gid: str, max_key: str, *, run_id: str | None = None) -> bool:
        """Record ``shopify_gid`` ⇄ ``max_key``. True if new, False if already recorded the same way.

        Raises :class:`IdMappingConflict` when either side is already mapped to something else.
        """
        if entity not in ID_MAP_ENTITIES:
            raise ValueError(f"unknown id_map entity {entity!r}; expected one of {ID_MAP_ENTITIES}")
        shopify_gid, max_key = str(shopify_gid), str(max_key).strip()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    id_map.insert().values(
                        entity=entity, shopify_gid=shopify_gid, max_key=max_key, run_id=run_id, created_at=utcnow()
                    )
                )
            return True
        except IntegrityError:
            pass
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(id_map.c.shopify_gid, id_map.c.max_key).where(
                    id_map.c.entity == entity,
                    or_(id_map.c.shopify_gid == shopify_gid, id_map.c.max_key == max_key),
                )
            ).all()
        if len(rows) == 1 and tuple(rows[0]) == (shopify_gid, max_key):
            return False
        existing = ", ".join(f"{gid} ⇄ {key}" for gid, key in rows)
        raise IdMappingConflict(
            f"{entity} mapping {shopify_gid} ⇄ {max_key} conflicts with existing mapping(s): {existing}"
        )

    def max_key_for(self, entity: str, shopify_gid: str) -> str | None:
        with self.engine.begin() as conn:
            return conn.execute(
                select(id_map.c.max_key).where(id_map.c.entity == entity, id_map.c.shopify_gid == str(shopify_gid))
            ).scalar_one_or_none()

    def max_keys_for(self, entity: str, shopify_gids: Iterable[str]) -> dict[str, str]:
        """Batch lookup: the MAX keys already recorded for these gids (missing gids are absent)."""
        gids = [str(gid) for gid in shopify_gids]
        found: dict[str, str] = {}
        with self.engine.begin() as conn:
            for start in range(0, len(gids), 500):
                chunk = gids[start : start + 500]
                rows = conn.execute(
                    select(id_map.c.shopify_gid, id_map.c.max_key).where(
                        id_map.c.entity == entity, id_map.c.shopify_gid.in_(chunk)
                    )
                )
                found.update({gid: key for gid, key in rows})
        return found

    def shopify_gid_for(self, entity: str, max_key: str) -> str | None:
        with self.engine.begin() as conn:
            return conn.execute(
                select(id_map.c.shopify_gid).where(id_map.c.entity == entity, id_map.c.max_key == str(max_key).strip())
            ).scalar_one_or_none()

    def id_mappings(self, entity: str) -> dict[str, str]:
        """Every Shopify gid → MAX key of ``entity`` (the master-data sync reads the customer cross-reference whole)."""
        with self.engine.connect() as conn:
            return {gid: key for gid, key in conn.execute(
                select(id_map.c.shopify_gid, id_map.c.max_key).where(id_map.c.entity == entity))}

    def repoint_id_mapping(self, entity: str, shopify_gid: str, max_key: str, *, run_id: str | None = None) -> str:
        """Map ``shopify_gid`` to ``max_key`` instead of what it maps to now (a person's decision, e.g. the
        ``max.custid`` metafield); returns the old key. Raises :class:`IdMappingConflict` when ``max_key`` is
        already another gid's, or the gid is not mapped."""
        shopify_gid, max_key = str(shopify_gid), str(max_key).strip()
        try:
            with self.engine.begin() as conn:
                old = conn.execute(select(id_map.c.max_key).where(
                    id_map.c.entity == entity, id_map.c.shopify_gid == shopify_gid)).scalar_one_or_none()
                if old is None:
                    raise IdMappingConflict(f"{entity} {shopify_gid} is not mapped: nothing to re-point")
                conn.execute(id_map.update().where(id_map.c.entity == entity, id_map.c.shopify_gid == shopify_gid)
                             .values(max_key=max_key, run_id=run_id))
                return old
        except IntegrityError:
            raise IdMappingConflict(f"{entity} MAX key {max_key} is already mapped to another Shopify record") from None
