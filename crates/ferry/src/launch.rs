//! Helpers for reaching the server from a phone or a browser: a terminal QR code of its URL
//! and opening the URL in the default browser.

use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

/// A QR code of `url` drawn with half-block characters, light on dark so it reads on the
/// usual dark terminal (phone cameras read both polarities).
pub(crate) fn qr_code(url: &str) -> Option<String> {
    let code = QrCode::new(url.as_bytes()).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

/// Opens `url` in the default browser (`xdg-open` on Linux and BSD, `open` on macOS,
/// `start` on Windows) without waiting for it. A failure is a warning, not an error.
pub(crate) fn open_in_browser(url: &str) {
    let mut command = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut command = std::process::Command::new("cmd");
        command.args(["/C", "start", ""]);
        command
    } else {
        std::process::Command::new("xdg-open")
    };
    command
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    match command.spawn() {
        // Reap the launcher in the background so it does not linger as a zombie.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(error) => {
            tracing::warn!(%error, url, "cannot open a browser; open the URL yourself");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_code_is_a_square_of_half_blocks() {
        let code = qr_code("http://192.168.1.20:8080/").unwrap();
        let lines: Vec<&str> = code.lines().collect();
        assert!(lines.len() > 10);
        let width = lines[0].chars().count();
        assert!(lines.iter().all(|line| line.chars().count() == width));
        assert!(
            code.chars()
                .all(|c| matches!(c, ' ' | '█' | '▀' | '▄' | '\n'))
        );
        // Two module rows per text line: roughly twice as wide as tall.
        assert!(width > lines.len() + lines.len() / 2);
    }
}
