//! What `URLSearchParams` and the bodies of `Request` and `Response` (`fetch_api.js`) need
//! from Rust: the `application/x-www-form-urlencoded` parser and serializer, and the
//! `multipart/form-data` parser behind `formData()`.

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use rquickjs::{Array, Ctx, Function, Object, TypedArray};

use super::throw;

pub(super) fn install<'js>(ctx: &Ctx<'js>, host: &Object<'js>) -> rquickjs::Result<()> {
    let parse = Function::new(ctx.clone(), |ctx: Ctx<'js>, text: String| {
        let pairs = Array::new(ctx.clone())?;
        for (index, (name, value)) in form_urlencoded::parse(text.as_bytes()).enumerate() {
            pairs.set(index, vec![name.into_owned(), value.into_owned()])?;
        }
        Ok::<_, rquickjs::Error>(pairs)
    })?;
    host.set("formParse", parse)?;

    let serialize = Function::new(ctx.clone(), |pairs: Vec<Vec<String>>| {
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        for pair in &pairs {
            if let [name, value] = pair.as_slice() {
                serializer.append_pair(name, value);
            }
        }
        serializer.finish()
    })?;
    host.set("formSerialize", serialize)?;

    // Each part as [name, filename or null, content type or null, bytes].
    let multipart = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>, body: String, content_type: String| {
            let body = super::encoding::latin1_bytes(&body)
                .ok_or_else(|| throw(&ctx, "formData: the body must be bytes"))?;
            let parts =
                parse_multipart(body, &content_type).map_err(|message| throw(&ctx, &message))?;
            let list = Array::new(ctx.clone())?;
            for (index, part) in parts.into_iter().enumerate() {
                let entry = Array::new(ctx.clone())?;
                entry.set(0, part.name)?;
                entry.set(1, part.filename)?;
                entry.set(2, part.content_type)?;
                entry.set(3, TypedArray::<u8>::new(ctx.clone(), part.data.to_vec())?)?;
                list.set(index, entry)?;
            }
            Ok::<_, rquickjs::Error>(list)
        },
    )?;
    host.set("multipartParse", multipart)
}

/// One part of a `multipart/form-data` body.
#[derive(Debug)]
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Bytes,
}

/// The parts of a `multipart/form-data` `body` whose `Content-Type` is `content_type`.
/// The body is all in memory, so the parser never waits: it is driven to the end here.
fn parse_multipart(body: Vec<u8>, content_type: &str) -> Result<Vec<Part>, String> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| "formData: the content type names no multipart boundary".to_owned())?;
    let stream =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(body)) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let malformed = |error: multer::Error| format!("formData: malformed multipart body: {error}");
    let read = async {
        let mut parts = Vec::new();
        while let Some(field) = multipart.next_field().await.map_err(malformed)? {
            let name = field.name().unwrap_or_default().to_owned();
            let filename = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(ToString::to_string);
            let data = field.bytes().await.map_err(malformed)?;
            parts.push(Part {
                name,
                filename,
                content_type,
                data,
            });
        }
        Ok(parts)
    };
    match pin!(read).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => Err("formData: the multipart body is incomplete".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_bodies_parse_without_waiting() {
        let body = "--XY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n\
                    --XY\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\n\
                    Content-Type: text/plain\r\n\r\nfile body\r\n--XY--\r\n";
        let parts =
            parse_multipart(body.as_bytes().to_vec(), "multipart/form-data; boundary=XY").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].name.as_str(), &parts[0].data[..]),
            ("a", &b"one"[..])
        );
        assert_eq!(parts[1].filename.as_deref(), Some("x.txt"));
        assert_eq!(parts[1].content_type.as_deref(), Some("text/plain"));
        assert_eq!(&parts[1].data[..], b"file body");
    }

    #[test]
    fn broken_multipart_bodies_are_errors() {
        assert!(
            parse_multipart(
                b"--XY\r\nbroken".to_vec(),
                "multipart/form-data; boundary=XY"
            )
            .is_err()
        );
        assert!(parse_multipart(Vec::new(), "multipart/form-data").is_err());
    }
}
