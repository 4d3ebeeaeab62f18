//! The servers `ferry bench` compares, started the way their users start them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where and how a server is started.
#[derive(Debug)]
pub struct Launch<'a> {
    /// The fixture directory to serve.
    pub root: &'a Path,
    /// The loopback port to listen on.
    pub port: u16,
    /// A scratch directory for generated configuration and logs.
    pub scratch: &'a Path,
    /// The `ferry` executable under test.
    pub ferry: &'a Path,
}

/// A server that can be measured.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    /// Its name in tables and `--compare`.
    pub name: &'static str,
    /// The configuration it runs with: what its users get by default.
    pub setup: &'static str,
    /// How to install it when it is missing.
    pub install: &'static str,
    command: fn(&Launch<'_>) -> Option<Command>,
}

impl Peer {
    /// The command that starts it, or `None` when it is not installed.
    pub fn command(&self, launch: &Launch<'_>) -> Option<Command> {
        (self.command)(launch)
    }
}

/// Every known server, Ferry first.
pub const PEERS: [Peer; 8] = [
    Peer {
        name: "ferry",
        setup: "ferry serve DIR --quiet (defaults; no access log)",
        install: "",
        command: ferry,
    },
    Peer {
        name: "python",
        setup: "python3 -m http.server PORT --bind 127.0.0.1 --directory DIR (defaults, request log on)",
        install: "install Python 3",
        command: python,
    },
    Peer {
        name: "node",
        setup: "http-server DIR -a 127.0.0.1 -p PORT (defaults: request log on, max-age=3600)",
        install: "npm install -g http-server",
        command: node,
    },
    Peer {
        name: "nginx",
        setup: "generated minimal config: worker_processes = cores, sendfile on, access_log off, autoindex on",
        install: "apt-get install nginx-light (or your system's nginx)",
        command: nginx,
    },
    Peer {
        name: "caddy",
        setup: "caddy file-server --browse (defaults)",
        install: "apt-get install caddy (or caddyserver.com)",
        command: caddy,
    },
    Peer {
        name: "miniserve",
        setup: "miniserve --index index.html DIR (defaults)",
        install: "cargo install --locked miniserve",
        command: miniserve,
    },
    Peer {
        name: "static-web-server",
        setup: "static-web-server --root DIR --directory-listing true (defaults)",
        install: "cargo install --locked static-web-server",
        command: static_web_server,
    },
    Peer {
        name: "darkhttpd",
        setup: "darkhttpd DIR --addr 127.0.0.1 --port PORT (defaults)",
        install: "apt-get install darkhttpd (where your distribution has it)",
        command: darkhttpd,
    },
];

/// The peers named in `list` (`python,node`, or `all` for every one), Ferry always first.
pub fn select(list: Option<&str>) -> Result<Vec<Peer>, String> {
    let mut chosen = vec![PEERS[0]];
    let Some(list) = list.map(str::trim).filter(|l| !l.is_empty()) else {
        return Ok(chosen);
    };
    if list == "all" {
        return Ok(PEERS.to_vec());
    }
    for name in list.split(',').map(str::trim) {
        let peer = PEERS.iter().find(|p| p.name == name).ok_or_else(|| {
            let known: Vec<&str> = PEERS.iter().skip(1).map(|p| p.name).collect();
            format!(
                "unknown server '{name}'; choose from {} or all",
                known.join(", ")
            )
        })?;
        if !chosen.iter().any(|p| p.name == peer.name) {
            chosen.push(*peer);
        }
    }
    Ok(chosen)
}

/// Finds `program` on `PATH`.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn with_args(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Command {
    let mut command = Command::new(program);
    command.args(args);
    command
}

fn ferry(launch: &Launch<'_>) -> Option<Command> {
    let mut command = Command::new(launch.ferry);
    command
        .arg("serve")
        .arg(launch.root)
        .args(["--port", &launch.port.to_string(), "--quiet"]);
    Some(command)
}

fn python(launch: &Launch<'_>) -> Option<Command> {
    let python = find_program("python3")?;
    let mut command = with_args(
        python,
        &[
            "-m",
            "http.server",
            &launch.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
        ],
    );
    command.arg(launch.root);
    Some(command)
}

fn node(launch: &Launch<'_>) -> Option<Command> {
    let program = find_program("http-server")?;
    let mut command = Command::new(program);
    command
        .arg(launch.root)
        .args(["-a", "127.0.0.1", "-p", &launch.port.to_string()]);
    Some(command)
}

fn nginx(launch: &Launch<'_>) -> Option<Command> {
    let program = find_program("nginx")
        .or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|p| p.is_file()))?;
    let scratch = launch.scratch.join(format!("nginx-{}", launch.port));
    fs::create_dir_all(&scratch).ok()?;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mime_types = ["/etc/nginx/mime.types", "/usr/local/etc/nginx/mime.types"]
        .iter()
        .find(|p| Path::new(p).is_file())
        .map(|p| format!("include {p};"))
        .unwrap_or_default();
    let config = format!(
        "worker_processes {workers};\ndaemon off;\nerror_log {dir}/error.log;\npid {dir}/nginx.pid;\n\
events {{ worker_connections 4096; }}\n\
http {{\n  {mime_types}\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_timeout 75s;\n\
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy; fastcgi_temp_path {dir}/fastcgi;\n\
  uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;\n\
  server {{ listen 127.0.0.1:{port}; root {root}; autoindex on; }}\n}}\n",
        dir = scratch.display(),
        port = launch.port,
        root = launch.root.display(),
    );
    let file = scratch.join("nginx.conf");
    fs::write(&file, config).ok()?;
    let mut command = Command::new(program);
    command.arg("-c").arg(&file).arg("-p").arg(&scratch);
    Some(command)
}

fn caddy(launch: &Launch<'_>) -> Option<Command> {
    let program = find_program("caddy")?;
    let mut command = Command::new(program);
    command
        .args(["file-server", "--browse", "--root"])
        .arg(launch.root)
        .args(["--listen", &format!("127.0.0.1:{}", launch.port)]);
    Some(command)
}

fn miniserve(launch: &Launch<'_>) -> Option<Command> {
    let program = find_program("miniserve")?;
    let mut command = Command::new(program);
    command
        .args([
            "--interfaces",
            "127.0.0.1",
            "--port",
            &launch.port.to_string(),
            "--index",
            "index.html",
        ])
        .arg(launch.root);
    Some(command)
}

fn static_web_server(launch: &Launch<'_>) -> Option<Command> {
    let program = find_program("static-web-server")?;
    let mut command = Command::new(program);
    command
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &launch.port.to_string(),
            "--directory-listing",
            "true",
            "--root",
        ])
        .arg(launch.root);
    Some(command)
}

fn darkhttpd(launch: &Launch<'_>) -> Option<Command> {
    let program = find_program("darkhttpd")?;
    let mut command = Command::new(program);
    command
        .arg(launch.root)
        .args(["--addr", "127.0.0.1", "--port", &launch.port.to_string()]);
    Some(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_keeps_ferry_first_and_explains_typos() {
        let names = |list| {
            select(list)
                .unwrap()
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(None), ["ferry"]);
        assert_eq!(names(Some("python,node")), ["ferry", "python", "node"]);
        assert_eq!(names(Some("all")).len(), PEERS.len());
        assert!(
            select(Some("apache"))
                .unwrap_err()
                .contains("choose from python")
        );
    }

    #[test]
    fn ferry_is_started_as_a_user_would() {
        let launch = Launch {
            root: Path::new("/srv/fixtures"),
            port: 8123,
            scratch: Path::new("/tmp"),
            ferry: Path::new("/usr/bin/ferry"),
        };
        let command = PEERS[0].command(&launch).unwrap();
        let args: Vec<_> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            ["serve", "/srv/fixtures", "--port", "8123", "--quiet"]
        );
    }
}
