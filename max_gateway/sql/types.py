"""``MaxText``: how every text column of MAX is read and compared.

MAX keeps text in space-padded ``CHAR(n)`` columns (EXACTMAX.md: trim keys on read and compare trimmed). So:
- a value read is trimmed of its right-hand padding (``'WEB                 '`` reads ``'WEB'``);
- a value bound (a key compared, a cursor, a value written) is trimmed the same way, so ``'WEB '`` finds ``'WEB'``;
- on SQL Server each bound value is cast to ``VARCHAR(8000)``. MAX's columns are non-Unicode ``CHAR``, and a driver
  that binds Python text as ``NVARCHAR`` (mssql-python does) makes SQL Server convert the column, not the
  parameter, which turns an index seek into a scan of the whole table (``CONVERT_IMPLICIT``) under the SQL
  collations MAX databases use. 8000, the longest non-LOB ``VARCHAR``, and not the column's length: a cast to
  ``VARCHAR(n)`` truncates silently, so ``00100001X`` would find order ``00100001``. Other databases get the plain
  parameter.

The reference backend stores into ``VARCHAR(n)``, where the trimming changes nothing a caller can see; the ``max``
backend reads the real ``CHAR(n)`` columns through the same types.
"""

from __future__ import annotations

from sqlalchemy import String, TypeDecorator
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

MSSQL_PARAMETER_LENGTH = 8000  # the longest VARCHAR that is not a LOB


class char_parameter(FunctionElement):  # noqa: N801 - a SQL construct, named like SQLAlchemy's own
    """A bound value compared with a MAX text column: ``CAST(? AS VARCHAR(8000))`` on SQL Server, else the value."""

    inherit_cache = True
    name = "char_parameter"

    def __init__(self, bindvalue, length: int) -> None:  # noqa: ANN001
        super().__init__(bindvalue)
        self.type = String(length)


@compiles(char_parameter)
def _plain_parameter(element: char_parameter, compiler, **kw) -> str:  # noqa: ANN001
    return compiler.process(element.clauses, **kw)


@compiles(char_parameter, "mssql")
def _varchar_parameter(element: char_parameter, compiler, **kw) -> str:  # noqa: ANN001
    return f"CAST({compiler.process(element.clauses, **kw)} AS VARCHAR({MSSQL_PARAMETER_LENGTH}))"


class MaxText(TypeDecorator):
    """A MAX ``CHAR(n)`` text column (see the module docstring); ``VARCHAR(n)`` in the reference database."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: object, dialect) -> object:  # noqa: ANN001
        return value.rstrip(" ") if isinstance(value, str) else value

    def process_result_value(self, value: object, dialect) -> object:  # noqa: ANN001
        return value.rstrip(" ") if isinstance(value, str) else value

    def bind_expression(self, bindvalue):  # noqa: ANN001, ANN201
        return char_parameter(bindvalue, self.impl.length)
