//! The workloads: which paths are requested, with how many connections.

/// One workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// Its name on the command line.
    pub name: &'static str,
    /// What it requests, for table titles.
    pub description: &'static str,
    /// Paths requested in rotation.
    pub paths: Vec<String>,
    /// Divides the connection count (the large file uses fewer connections).
    pub connection_divisor: usize,
}

impl Workload {
    /// Connections for this workload when `connections` are asked for.
    pub fn connections(&self, connections: usize) -> usize {
        (connections / self.connection_divisor).max(1)
    }
}

/// Every workload, in table order.
pub fn all() -> Vec<Workload> {
    let one = |name, description, path: &str| Workload {
        name,
        description,
        paths: vec![path.to_owned()],
        connection_divisor: 1,
    };
    vec![
        one("small", "1 KiB HTML", "/small.html"),
        one("medium", "100 KiB file", "/medium.bin"),
        Workload {
            connection_divisor: 5,
            ..one("large", "10 MiB file", "/large.bin")
        },
        one("wasm", "2 MiB .wasm", "/app.wasm"),
        Workload {
            paths: (0..1000).map(|i| format!("/many/{i:04}.html")).collect(),
            ..one("many", "1,000 distinct 1 KiB files", "/many/0000.html")
        },
        one("listing", "listing of 100 files", "/listing/"),
    ]
}

/// The workloads named in `names` (comma-separated), or all of them for `all` or nothing.
pub fn select(names: Option<&str>) -> Result<Vec<Workload>, String> {
    let every = all();
    let Some(names) = names.filter(|n| !n.trim().is_empty() && n.trim() != "all") else {
        return Ok(every);
    };
    names
        .split(',')
        .map(str::trim)
        .map(|name| {
            every
                .iter()
                .find(|w| w.name == name)
                .cloned()
                .ok_or_else(|| {
                    let known: Vec<&str> = every.iter().map(|w| w.name).collect();
                    format!(
                        "unknown workload '{name}'; choose from {}",
                        known.join(", ")
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_are_selected_by_name() {
        let chosen = select(Some("small, wasm")).unwrap();
        assert_eq!(
            chosen.iter().map(|w| w.name).collect::<Vec<_>>(),
            ["small", "wasm"]
        );
        assert_eq!(select(None).unwrap().len(), 6);
        assert!(
            select(Some("huge"))
                .unwrap_err()
                .contains("choose from small")
        );
    }

    #[test]
    fn large_files_use_fewer_connections() {
        let large = select(Some("large")).unwrap().remove(0);
        assert_eq!(large.connections(50), 10);
        assert_eq!(large.connections(2), 1);
        assert_eq!(select(Some("many")).unwrap()[0].paths.len(), 1000);
    }
}
