//! Looking at a test's database behind the store's back, alike on SQLite and PostgreSQL (any URL
//! sqlx's `Any` driver opens): its tables, their columns, a fingerprint of what they hold, and
//! every row as text (to search for secrets).

use sqlx::AnyPool;

/// A pool of one connection on `url`.
async fn pool(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot open the test database: {e}"))
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres")
}

/// A SQLite database's own tables, by name (sqlx's migration table and SQLite's left out).
const SQLITE_TABLES: &str = "SELECT name FROM sqlite_master WHERE type = 'table'
    AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%' ORDER BY 1";

/// The application's tables, by name (sqlx's migration table and SQLite's own left out).
pub async fn tables(url: &str) -> Vec<String> {
    let sql = if is_postgres(url) {
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
           AND table_name NOT LIKE '\\_%' ORDER BY 1"
    } else {
        SQLITE_TABLES
    };
    let pool = pool(url).await;
    let names = sqlx::query_scalar(sql).fetch_all(&pool).await;
    pool.close().await;
    names.unwrap_or_else(|e| panic!("listing tables: {e}"))
}

/// The columns of `table`, in their order.
pub async fn columns(url: &str, table: &str) -> Vec<String> {
    let pool = pool(url).await;
    let names = if is_postgres(url) {
        sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(&pool)
        .await
    } else {
        sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
            .bind(table)
            .fetch_all(&pool)
            .await
    };
    pool.close().await;
    names.unwrap_or_else(|e| panic!("listing the columns of {table}: {e}"))
}

/// `table|rows|largest id` for every table: changes when a row is added or removed (the id of
/// SQLite's rowid, or PostgreSQL's first column). Three queries on one connection, however
/// many tables.
pub async fn table_fingerprint(url: &str) -> Vec<String> {
    let pool = pool(url).await;
    let ids: Vec<(String, String)> = if is_postgres(url) {
        // A first column that is not a number (a digest) counts by its largest value as text.
        sqlx::query_as::<_, (String, String, String)>(
            "SELECT table_name::text, column_name::text, data_type::text
             FROM information_schema.columns
             WHERE table_schema = 'public' AND ordinal_position = 1
               AND table_name NOT LIKE '\\_%' ORDER BY 1",
        )
        .fetch_all(&pool)
        .await
        .unwrap_or_else(|e| panic!("listing tables: {e}"))
        .into_iter()
        .map(|(table, column, kind)| match kind.as_str() {
            "bigint" | "integer" | "smallint" => (table, column),
            _ => (table, format!("encode(CAST({column} AS BYTEA), 'hex')")),
        })
        .collect()
    } else {
        sqlx::query_scalar::<_, String>(SQLITE_TABLES)
            .fetch_all(&pool)
            .await
            .unwrap_or_else(|e| panic!("listing tables: {e}"))
            .into_iter()
            .map(|t| (t, "rowid".to_owned()))
            .collect()
    };
    let union = ids
        .iter()
        .map(|(table, id)| {
            format!(
                "SELECT '{table}|' || CAST(count(*) AS TEXT) || '|' || \
                 CAST(coalesce(CAST(max({id}) AS TEXT), '0') AS TEXT) FROM {table}"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let mut rows: Vec<String> = sqlx::query_scalar(&union)
        .fetch_all(&pool)
        .await
        .unwrap_or_else(|e| panic!("counting rows: {e}"));
    pool.close().await;
    rows.sort();
    rows
}

/// Every value of every row of every table, as (table, text): text as it is, bytes read as
/// text byte for byte (lossily), numbers in decimal.
pub async fn every_row(url: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for table in tables(url).await {
        let mut text = String::new();
        for column in columns(url, &table).await {
            let pool = pool(url).await;
            let as_bytes = if !is_postgres(url) {
                format!("SELECT CAST({column} AS BLOB) FROM {table}")
            } else if is_bytes(&pool, &table, &column).await {
                format!("SELECT {column} FROM {table}")
            } else {
                format!("SELECT convert_to(CAST({column} AS TEXT), 'UTF8') FROM {table}")
            };
            let values: Vec<Option<Vec<u8>>> = sqlx::query_scalar(&as_bytes)
                .fetch_all(&pool)
                .await
                .unwrap_or_else(|e| panic!("reading {table}.{column}: {e}"));
            pool.close().await;
            for value in values.into_iter().flatten() {
                text.push_str(&String::from_utf8_lossy(&value));
                text.push('\n');
            }
        }
        out.push((table, text));
    }
    out
}

/// Whether a PostgreSQL column holds bytes (`bytea`).
async fn is_bytes(pool: &AnyPool, table: &str, column: &str) -> bool {
    let kind: String = sqlx::query_scalar(
        "SELECT data_type::text FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2",
    )
    .bind(table)
    .bind(column)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("the type of {table}.{column}: {e}"));
    kind == "bytea"
}
