//! `JSON.stringify`, with a fast path for plain data.
//!
//! QuickJS's own `JSON.stringify` is general: it lists an object's keys into a new array,
//! keeps the objects it is inside in another, quotes each string into a string of its
//! own and joins them — about a microsecond for `{ message: "Hello, World!" }`, the
//! largest single cost of a hello-JSON answer. Scripts stringify on nearly every request,
//! so the global is replaced with a native function that writes plain data — objects
//! made by `{…}`, arrays, strings, numbers, booleans and `null`, nested — straight into
//! one buffer, and hands everything else to QuickJS's own implementation unchanged.
//!
//! The fast path reads only own data properties of objects whose prototype is
//! `Object.prototype` or `Array.prototype`, so it never runs script code (no getter, no
//! `toJSON`, no proxy trap): giving up half-way and starting over in QuickJS's own is
//! invisible. What it gives up on: a replacer or an indent, a `toJSON` anywhere, getters,
//! functions, proxies, class instances and other objects (dates, maps, boxed primitives,
//! raw JSON), holes in arrays, `BigInt`s, cycles and nesting deeper than [`DEEPEST`], and
//! text longer than [`MOST_BYTES`] (QuickJS's own counts that memory against the script's
//! limit). The tests below compare the two on every kind of value.
#![allow(
    unsafe_code,
    reason = "QuickJS's property and string access has no safe binding at this speed; measured need: docs/benchmarks/2026-12-05-json-stringify.md"
)]

use std::ffi::{c_int, c_void};

use rquickjs::object::Property;
use rquickjs::qjs;
use rquickjs::{Ctx, Object, Value};

/// The longest text the fast path writes; longer text is QuickJS's own to write.
const MOST_BYTES: usize = 256 * 1024;
/// The deepest nesting the fast path follows; deeper values (and cycles, which are
/// infinitely deep) are QuickJS's own to write or refuse.
const DEEPEST: usize = 64;

/// Replaces `JSON.stringify` in `ctx` with the native one. Runs before the prelude, which
/// keeps its own reference to the function.
pub(crate) fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let globals = ctx.globals();
    let json: Object = globals.get("JSON")?;
    let object_prototype: Object = globals.get::<_, Object>("Object")?.get("prototype")?;
    let array_prototype: Object = globals.get::<_, Object>("Array")?.get("prototype")?;
    let object_class = class_of(&Object::new(ctx.clone())?);
    let array_class = class_of(&rquickjs::Array::new(ctx.clone())?.into_object());
    // SAFETY: a live context. `toJSON` is one of QuickJS's built-in atoms, which live as
    // long as the runtime, so the number stays valid without a reference held.
    let to_json = unsafe { qjs::JS_NewAtomLen(ctx.as_raw().as_ptr(), c"toJSON".as_ptr(), 6) };
    let mut data = [
        object_prototype.as_raw(),
        array_prototype.as_raw(),
        qjs::JS_MKVAL(qjs::JS_TAG_INT, object_class as i32),
        qjs::JS_MKVAL(qjs::JS_TAG_INT, array_class as i32),
        qjs::JS_MKVAL(qjs::JS_TAG_INT, to_json as i32),
    ];
    // SAFETY: `ctx` is a live context; the function record copies (and duplicates) the
    // data values, so they outlive the borrowed objects; the name is a C string
    // literal. The result is an owned value (or JS_EXCEPTION), handed to `from_raw`.
    let function = unsafe {
        let raw = qjs::JS_NewCFunctionData2(
            ctx.as_raw().as_ptr(),
            Some(stringify),
            c"stringify".as_ptr(),
            3,
            0,
            data.len() as c_int,
            data.as_mut_ptr(),
        );
        if qjs::JS_IsException(raw) {
            return Err(rquickjs::Error::Exception);
        }
        Value::from_raw(ctx.clone(), raw)
    };
    json.prop(
        "stringify",
        Property::from(function).writable().configurable(),
    )
}

/// QuickJS's class number of `object`.
fn class_of(object: &Object<'_>) -> u32 {
    // SAFETY: reads the class of a live object value; no allocation, no script code.
    unsafe { qjs::JS_GetClassID(object.as_raw()) }
}

/// `JSON.stringify(value, replacer, space)`: the fast path when there is no replacer or
/// indent and the value is plain data; QuickJS's own otherwise.
///
/// # Safety
/// Called by QuickJS only, with `argv` holding at least the function's length (3) values
/// (QuickJS pads missing arguments with `undefined`) and `data` the five values `install`
/// gave.
unsafe extern "C" fn stringify(
    ctx: *mut qjs::JSContext,
    _this: qjs::JSValue,
    _argc: c_int,
    argv: *mut qjs::JSValue,
    _magic: c_int,
    data: *mut qjs::JSValue,
) -> qjs::JSValue {
    // SAFETY: see the function's contract.
    let (value, replacer, space, data) = unsafe {
        (
            *argv,
            *argv.add(1),
            *argv.add(2),
            std::slice::from_raw_parts(data, 5),
        )
    };
    // SAFETY: tag reads of live values.
    if unsafe { qjs::JS_IsUndefined(replacer) && qjs::JS_IsUndefined(space) } {
        // SAFETY: `data` holds what `install` gave: two objects and three integers.
        let mut writer = unsafe {
            Writer {
                ctx,
                object_prototype: qjs::JS_VALUE_GET_PTR(data[0]),
                array_prototype: qjs::JS_VALUE_GET_PTR(data[1]),
                object_class: qjs::JS_VALUE_GET_INT(data[2]) as u32,
                array_class: qjs::JS_VALUE_GET_INT(data[3]) as u32,
                to_json: qjs::JS_VALUE_GET_INT(data[4]) as qjs::JSAtom,
                text: Vec::with_capacity(128),
                open: Vec::new(),
            }
        };
        // SAFETY: `value` is a live argument of this call.
        match unsafe { writer.start(value) } {
            Ok(Written::Text) => {
                // SAFETY: the text is valid UTF-8 (strings are written from QuickJS's UTF-8
                // with lone surrogates escaped); QuickJS copies it.
                return unsafe {
                    qjs::JS_NewStringLen(ctx, writer.text.as_ptr().cast(), writer.text.len() as _)
                };
            }
            Ok(Written::Nothing) => return qjs::JS_UNDEFINED,
            Err(Stop::Thrown) => return qjs::JS_EXCEPTION,
            Err(Stop::GiveUp) => {
                #[cfg(test)]
                tests::GAVE_UP.with(|count| count.set(count.get() + 1));
            }
        }
    }
    // SAFETY: the arguments are live values of this call, as QuickJS's own expects them.
    unsafe { qjs::JS_JSONStringify(ctx, value, replacer, space) }
}

/// What the fast path made of a value.
#[derive(Debug, PartialEq)]
enum Written {
    /// Its JSON text, appended.
    Text,
    /// Nothing: `undefined` or a symbol (left out of an object, `null` in an array,
    /// `undefined` at the top).
    Nothing,
}

/// Why the fast path stopped.
#[derive(Debug)]
enum Stop {
    /// The value needs QuickJS's own `JSON.stringify`.
    GiveUp,
    /// QuickJS raised an exception (out of memory); it is pending in the context.
    Thrown,
}

/// The fast path's state for one call.
struct Writer {
    ctx: *mut qjs::JSContext,
    object_prototype: *mut c_void,
    array_prototype: *mut c_void,
    object_class: u32,
    array_class: u32,
    /// The atom `toJSON`.
    to_json: qjs::JSAtom,
    /// The JSON text so far.
    text: Vec<u8>,
    /// The objects and arrays being written, outermost first.
    open: Vec<*mut c_void>,
}

impl Writer {
    /// Writes the top-level value, after checking that no `toJSON` is inherited by
    /// plain objects or arrays (a script may define one on the prototypes).
    ///
    /// # Safety
    /// `value` is a live value of `self.ctx`.
    unsafe fn start(&mut self, value: qjs::JSValue) -> Result<Written, Stop> {
        // SAFETY: reads the tag of a live value.
        if unsafe { qjs::JS_VALUE_GET_NORM_TAG(value) } == qjs::JS_TAG_OBJECT {
            // The prototypes are live objects held by the function's data.
            let array_prototype = qjs::JS_MKPTR(qjs::JS_TAG_OBJECT, self.array_prototype);
            let object_prototype = qjs::JS_MKPTR(qjs::JS_TAG_OBJECT, self.object_prototype);
            // SAFETY: own-property lookups on ordinary objects run no script code.
            if unsafe { self.has_own_to_json(array_prototype)? }
                || unsafe { self.has_own_to_json(object_prototype)? }
            {
                return Err(Stop::GiveUp);
            }
        }
        // SAFETY: as the function's contract.
        unsafe { self.write(value) }
    }

    /// Appends the JSON text of `value`.
    ///
    /// # Safety
    /// `value` is a live value of `self.ctx`.
    unsafe fn write(&mut self, value: qjs::JSValue) -> Result<Written, Stop> {
        if self.text.len() > MOST_BYTES {
            return Err(Stop::GiveUp);
        }
        // SAFETY: reads the tag of a live value.
        match unsafe { qjs::JS_VALUE_GET_NORM_TAG(value) } {
            qjs::JS_TAG_STRING | qjs::JS_TAG_STRING_ROPE => {
                // SAFETY: a live string value.
                unsafe { self.write_string(value)? };
            }
            qjs::JS_TAG_INT => {
                // SAFETY: the tag says it is an integer.
                let number = unsafe { qjs::JS_VALUE_GET_INT(value) };
                self.write_integer(i64::from(number));
            }
            qjs::JS_TAG_FLOAT64 => {
                // SAFETY: the tag says it is a double.
                let number = unsafe { qjs::JS_VALUE_GET_FLOAT64(value) };
                // SAFETY: a live number value.
                unsafe { self.write_number(number, value)? };
            }
            qjs::JS_TAG_BOOL => {
                // SAFETY: the tag says it is a boolean.
                let truth = unsafe { qjs::JS_VALUE_GET_INT(value) } != 0;
                self.text
                    .extend_from_slice(if truth { b"true" } else { b"false" });
            }
            qjs::JS_TAG_NULL => self.text.extend_from_slice(b"null"),
            qjs::JS_TAG_UNDEFINED | qjs::JS_TAG_SYMBOL => return Ok(Written::Nothing),
            // SAFETY: a live object value.
            qjs::JS_TAG_OBJECT => return unsafe { self.write_object(value) },
            _ => return Err(Stop::GiveUp),
        }
        Ok(Written::Text)
    }

    /// Appends an object or array, or gives up on any other kind of object.
    ///
    /// # Safety
    /// `value` is a live object of `self.ctx`.
    unsafe fn write_object(&mut self, value: qjs::JSValue) -> Result<Written, Stop> {
        // SAFETY: class and prototype reads of a live object; a proxy (whose prototype
        // read would run a trap) is recognised before its prototype is read.
        let (class, prototype) = unsafe {
            if qjs::JS_IsProxy(value) || qjs::JS_IsFunction(self.ctx, value) {
                // A function is usually left out, but a `toJSON` on it or anywhere up its
                // prototype chain (which may be anything) would be called.
                return Err(Stop::GiveUp);
            }
            let class = qjs::JS_GetClassID(value);
            let prototype = qjs::JS_GetPrototype(self.ctx, value);
            let pointer = if qjs::JS_VALUE_GET_NORM_TAG(prototype) == qjs::JS_TAG_OBJECT {
                qjs::JS_VALUE_GET_PTR(prototype)
            } else {
                std::ptr::null_mut()
            };
            qjs::JS_FreeValue(self.ctx, prototype);
            (class, pointer)
        };
        let is_array = if class == self.array_class && prototype == self.array_prototype {
            true
        } else if class == self.object_class && prototype == self.object_prototype {
            false
        } else {
            return Err(Stop::GiveUp);
        };
        // SAFETY: a live object.
        let pointer = unsafe { qjs::JS_VALUE_GET_PTR(value) };
        if self.open.len() >= DEEPEST || self.open.contains(&pointer) {
            return Err(Stop::GiveUp);
        }
        // SAFETY: an own-property lookup on an ordinary object.
        if unsafe { self.has_own_to_json(value)? } {
            return Err(Stop::GiveUp);
        }
        self.open.push(pointer);
        // SAFETY: a live array or plain object, as just checked.
        let written = unsafe {
            if is_array {
                self.write_array(value)
            } else {
                self.write_members(value)
            }
        };
        self.open.pop();
        written.map(|()| Written::Text)
    }

    /// Appends `[…]`: each element, `null` for those that write nothing.
    ///
    /// # Safety
    /// `array` is a live array (class Array, prototype `Array.prototype`).
    unsafe fn write_array(&mut self, array: qjs::JSValue) -> Result<(), Stop> {
        let mut length: i64 = 0;
        // SAFETY: an array's length is an own data property: no script code runs.
        if unsafe { qjs::JS_GetLength(self.ctx, array, &mut length) } < 0 {
            return Err(Stop::Thrown);
        }
        let Ok(length) = u32::try_from(length) else {
            return Err(Stop::GiveUp);
        };
        self.text.push(b'[');
        for index in 0..length {
            if index > 0 {
                self.text.push(b',');
            }
            // SAFETY: a live context; the atom is freed below.
            let atom = unsafe { qjs::JS_NewAtomUInt32(self.ctx, index) };
            if atom == qjs::JS_ATOM_NULL {
                return Err(Stop::Thrown);
            }
            // SAFETY: a live array and atom.
            let element = unsafe { self.own_data(array, atom) };
            // SAFETY: the atom was made above.
            unsafe { qjs::JS_FreeAtom(self.ctx, atom) };
            // A hole (`None`) reads through the prototypes: QuickJS's own does that.
            let element = element?.ok_or(Stop::GiveUp)?;
            // SAFETY: `element` is an owned value, freed after use.
            let written = unsafe { self.write(element) };
            // SAFETY: owned above.
            unsafe { qjs::JS_FreeValue(self.ctx, element) };
            if written? == Written::Nothing {
                self.text.extend_from_slice(b"null");
            }
        }
        self.text.push(b']');
        Ok(())
    }

    /// Appends `{…}`: each own enumerable string-keyed member that writes something, in
    /// the order QuickJS's own lists them.
    ///
    /// # Safety
    /// `object` is a live plain object (prototype `Object.prototype`).
    unsafe fn write_members(&mut self, object: qjs::JSValue) -> Result<(), Stop> {
        let mut table: *mut qjs::JSPropertyEnum = std::ptr::null_mut();
        let mut count: u32 = 0;
        // SAFETY: lists the own keys of an ordinary object (no script code runs).
        let listed = unsafe {
            qjs::JS_GetOwnPropertyNames(
                self.ctx,
                &mut table,
                &mut count,
                object,
                (qjs::JS_GPN_STRING_MASK | qjs::JS_GPN_ENUM_ONLY) as c_int,
            )
        };
        if listed < 0 {
            return Err(Stop::Thrown);
        }
        let keys = if table.is_null() {
            &[][..]
        } else {
            // SAFETY: QuickJS filled `table` with `count` entries.
            unsafe { std::slice::from_raw_parts(table, count as usize) }
        };
        // SAFETY: the keys are live atoms of the table.
        let written = unsafe { self.write_member_list(object, keys) };
        if !table.is_null() {
            // SAFETY: frees the table QuickJS made above, and its atoms.
            unsafe { qjs::JS_FreePropertyEnum(self.ctx, table, count) };
        }
        written
    }

    /// Appends `{…}` for `keys` of `object`.
    ///
    /// # Safety
    /// `object` is a live plain object and `keys` live atoms.
    unsafe fn write_member_list(
        &mut self,
        object: qjs::JSValue,
        keys: &[qjs::JSPropertyEnum],
    ) -> Result<(), Stop> {
        self.text.push(b'{');
        let mut first = true;
        for key in keys {
            // SAFETY: a live object and atom.
            let Some(member) = (unsafe { self.own_data(object, key.atom)? }) else {
                continue;
            };
            let start = self.text.len();
            if !first {
                self.text.push(b',');
            }
            // SAFETY: the atom is live; `member` is an owned value, freed after use.
            let written = unsafe {
                self.write_key(key.atom).and_then(|()| {
                    self.text.push(b':');
                    self.write(member)
                })
            };
            // SAFETY: owned above.
            unsafe { qjs::JS_FreeValue(self.ctx, member) };
            match written? {
                Written::Text => first = false,
                Written::Nothing => self.text.truncate(start),
            }
        }
        self.text.push(b'}');
        Ok(())
    }

    /// The value of the own data property `atom` of `object` (owned by the caller),
    /// `None` if there is none; gives up on an accessor.
    ///
    /// # Safety
    /// `object` is a live ordinary object and `atom` a live atom.
    unsafe fn own_data(
        &mut self,
        object: qjs::JSValue,
        atom: qjs::JSAtom,
    ) -> Result<Option<qjs::JSValue>, Stop> {
        let mut descriptor = qjs::JSPropertyDescriptor {
            flags: 0,
            value: qjs::JS_UNDEFINED,
            getter: qjs::JS_UNDEFINED,
            setter: qjs::JS_UNDEFINED,
        };
        // SAFETY: an own-property read of an ordinary object; it duplicates the three
        // values of the descriptor, which are freed or handed on here.
        unsafe {
            match qjs::JS_GetOwnProperty(self.ctx, &mut descriptor, object, atom) {
                0 => return Ok(None),
                found if found < 0 => return Err(Stop::Thrown),
                _ => {}
            }
            if descriptor.flags & qjs::JS_PROP_GETSET as c_int != 0 {
                qjs::JS_FreeValue(self.ctx, descriptor.getter);
                qjs::JS_FreeValue(self.ctx, descriptor.setter);
                qjs::JS_FreeValue(self.ctx, descriptor.value);
                return Err(Stop::GiveUp);
            }
        }
        Ok(Some(descriptor.value))
    }

    /// Whether `object` has an own `toJSON` (which only QuickJS's own may call).
    ///
    /// # Safety
    /// `object` is a live object that is not a proxy.
    unsafe fn has_own_to_json(&mut self, object: qjs::JSValue) -> Result<bool, Stop> {
        // SAFETY: a lookup that reads no values (no descriptor asked for).
        let found =
            unsafe { qjs::JS_GetOwnProperty(self.ctx, std::ptr::null_mut(), object, self.to_json) };
        match found {
            0 => Ok(false),
            found if found < 0 => Err(Stop::Thrown),
            _ => Ok(true),
        }
    }

    /// Appends the quoted key `atom`.
    ///
    /// # Safety
    /// `atom` is a live atom.
    unsafe fn write_key(&mut self, atom: qjs::JSAtom) -> Result<(), Stop> {
        let mut length = 0;
        // SAFETY: the C string QuickJS gives is `length` bytes long and freed here.
        unsafe {
            let bytes = qjs::JS_AtomToCStringLen(self.ctx, &mut length, atom);
            if bytes.is_null() {
                return Err(Stop::Thrown);
            }
            quote(
                &mut self.text,
                std::slice::from_raw_parts(bytes.cast(), length as usize),
            );
            qjs::JS_FreeCString(self.ctx, bytes);
        }
        Ok(())
    }

    /// Appends the quoted string `value`.
    ///
    /// # Safety
    /// `value` is a live string.
    unsafe fn write_string(&mut self, value: qjs::JSValue) -> Result<(), Stop> {
        let mut length = 0;
        // SAFETY: the C string QuickJS gives is `length` bytes long and freed here.
        unsafe {
            let bytes = qjs::JS_ToCStringLen2(self.ctx, &mut length, value, false);
            if bytes.is_null() {
                return Err(Stop::Thrown);
            }
            // Escapes can make a string six times longer; past the bound it is QuickJS's.
            let fits = self.text.len() + 6 * length as usize <= MOST_BYTES;
            if fits {
                quote(
                    &mut self.text,
                    std::slice::from_raw_parts(bytes.cast(), length as usize),
                );
            }
            qjs::JS_FreeCString(self.ctx, bytes);
            if !fits {
                return Err(Stop::GiveUp);
            }
        }
        Ok(())
    }

    /// Appends a double: `null` if not finite, digits if a safe integer, else as
    /// JavaScript writes it (QuickJS's number-to-string).
    ///
    /// # Safety
    /// `value` is the live number `number`.
    unsafe fn write_number(&mut self, number: f64, value: qjs::JSValue) -> Result<(), Stop> {
        const SAFE: f64 = 9_007_199_254_740_992.0; // 2^53
        if !number.is_finite() {
            self.text.extend_from_slice(b"null");
        } else if number.fract() == 0.0 && number.abs() < SAFE {
            // Exact below 2^53; -0 writes as 0, as in JavaScript.
            self.write_integer(number as i64);
        } else {
            let mut length = 0;
            // SAFETY: as `write_string`: the number's text, freed here.
            unsafe {
                let bytes = qjs::JS_ToCStringLen2(self.ctx, &mut length, value, false);
                if bytes.is_null() {
                    return Err(Stop::Thrown);
                }
                self.text
                    .extend_from_slice(std::slice::from_raw_parts(bytes.cast(), length as usize));
                qjs::JS_FreeCString(self.ctx, bytes);
            }
        }
        Ok(())
    }

    /// Appends the decimal digits of `number`.
    fn write_integer(&mut self, number: i64) {
        use std::io::Write as _;
        // Writing to a Vec cannot fail.
        let _ = write!(self.text, "{number}");
    }
}

/// Appends `text` (QuickJS's UTF-8, in which a lone surrogate is the three bytes of its
/// code point) as a JSON string: `"` and `\` escaped, control characters as `\b`, `\t`,
/// `\n`, `\f`, `\r` or `\u00xx`, lone surrogates as `\udxxx`, as the standard's
/// well-formed `JSON.stringify` writes them.
fn quote(out: &mut Vec<u8>, text: &[u8]) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    let mut plain = 0;
    let mut index = 0;
    while index < text.len() {
        let byte = text[index];
        let escape: Option<&[u8]> = match byte {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            0x08 => Some(b"\\b"),
            b'\t' => Some(b"\\t"),
            b'\n' => Some(b"\\n"),
            0x0c => Some(b"\\f"),
            b'\r' => Some(b"\\r"),
            0x00..=0x1f => None,
            0xed if text.get(index + 1).is_some_and(|next| *next >= 0xa0) => None,
            _ => {
                index += 1;
                continue;
            }
        };
        out.extend_from_slice(&text[plain..index]);
        match escape {
            Some(escape) => {
                out.extend_from_slice(escape);
                index += 1;
            }
            None if byte < 0x20 => {
                push_unicode_escape(out, u32::from(byte));
                index += 1;
            }
            None => {
                // A surrogate code point: 0xED, then 0xA0-0xBF, then a continuation byte.
                let second = text.get(index + 1).copied().unwrap_or(0);
                let third = text.get(index + 2).copied().unwrap_or(0);
                let unit = 0xd000 | (u32::from(second & 0x3f) << 6) | u32::from(third & 0x3f);
                push_unicode_escape(out, unit);
                index += 3;
            }
        }
        plain = index;
    }
    out.extend_from_slice(&text[plain.min(text.len())..]);
    out.push(b'"');
}

/// Appends `\uxxxx` (lowercase hex, as the standard writes it).
fn push_unicode_escape(out: &mut Vec<u8>, unit: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[((unit >> shift) & 0xf) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cell::Cell;

    thread_local! {
        /// How many calls on this thread the fast path handed to QuickJS's own.
        pub(super) static GAVE_UP: Cell<usize> = const { Cell::new(0) };
    }

    /// Runs `check` with a context in which `JSON.stringify` is the fast one and
    /// `quickjsStringify` QuickJS's own.
    fn with_both<R>(check: impl FnOnce(&Ctx<'_>) -> R) -> R {
        let runtime = rquickjs::Runtime::new().expect("a runtime");
        let context = rquickjs::Context::full(&runtime).expect("a context");
        context.with(|ctx| {
            ctx.eval::<(), _>("globalThis.quickjsStringify = JSON.stringify;")
                .expect("kept");
            install(&ctx).expect("installed");
            check(&ctx)
        })
    }

    /// What the two write for the value of the expression `source`: each the text,
    /// `undefined`, or the error thrown.
    fn both(ctx: &Ctx<'_>, source: &str) -> (String, String) {
        let script = format!(
            "(() => {{
                const value = ({source});
                const run = (f) => {{
                    try {{
                        const text = f(value);
                        return text === undefined ? 'undefined' : 'text:' + text;
                    }} catch (e) {{
                        return 'threw:' + e.constructor.name + ': ' + e.message;
                    }}
                }};
                return [run(JSON.stringify), run(quickjsStringify)];
            }})()"
        );
        let written: Vec<String> = ctx.eval(script).expect("ran");
        (written[0].clone(), written[1].clone())
    }

    #[test]
    fn fast_path_writes_what_quickjs_writes() {
        let written_fast = [
            r#"{ message: "Hello, World!" }"#,
            r#"{ a: 1, b: [true, false, null], c: { d: "e" }, "": 0 }"#,
            r#"{ 2: "two", 1: "one", b: 1, a: 2, "-1": 3, "01": 4 }"#,
            "[1, -1, 0, -0, 1.5, -2.25, 1e21, 1e-7, 123456789012345680000, 2 ** 53, 2 ** 60, -(2 ** 53) + 1, NaN, Infinity, -Infinity, 5e-324, 0.1 + 0.2]",
            r#"["", "\"\\\b\f\n\r\t\u0000\u001f\u007f", "é", "→😀", "\ud800", "a\udc00b", "\ud83d\ude00", "\uffff", "\ud800\ud800"]"#,
            r#"{ u: undefined, s: Symbol("s"), k: 1 }"#,
            r#"[undefined, Symbol("s")]"#,
            r#"{ [Symbol("hidden")]: 1, shown: 2 }"#,
            r#"Object.defineProperty({ a: 1 }, "hidden", { value: 2, enumerable: false })"#,
            "[[[[[]]]], {}, [{}]]",
            "(() => { const a = [1]; return [a, a, { a }]; })()",
            r#""top""#,
            "42",
            "-0",
            "null",
            "true",
            "undefined",
            r#"Symbol("top")"#,
            "'x'.repeat(1000) + 'y'",
        ];
        let given_up = [
            "function f() {}",
            "{ f() {}, k: 1 }",
            "new Date(0)",
            r#"{ toJSON() { return "custom"; } }"#,
            r#"{ a: { toJSON(key) { return key + "!"; } } }"#,
            "{ get g() { return 7; } }",
            "Object.defineProperty([1, 2], 0, { get() { return 9; } })",
            "new Proxy({ a: 1 }, {})",
            r#"new Proxy([1], { get(t, k) { return k === "length" ? 1 : 5; } })"#,
            "new (class Point { constructor() { this.x = 1; } })()",
            "Object.assign(Object.create(null), { a: 1 })",
            r#"[new String("s"), new Number(1), new Boolean(false), Object(1n)]"#,
            "[1, , 3]",
            "10n",
            "{ big: 10n }",
            "(() => { const o = {}; o.self = o; return o; })()",
            "(() => { const a = []; a.push(a); return a; })()",
            "(() => { let v = 1; for (let i = 0; i < 100; i++) v = [v]; return v; })()",
            "(() => { let v = 1; for (let i = 0; i < 100; i++) v = { v }; return v; })()",
            "new Map([[1, 2]])",
            "new Uint8Array([1, 2])",
            r#"JSON.rawJSON("1e1000")"#,
            "(function () { return arguments; })(1, 2)",
            "Array(30000).fill('long enough to pass the bound of the fast path')",
            r#""\n".repeat(100000)"#,
        ];
        with_both(|ctx| {
            for (cases, gives_up) in [(&written_fast[..], false), (&given_up[..], true)] {
                for case in cases {
                    let before = GAVE_UP.with(Cell::get);
                    let (fast, own) = both(ctx, case);
                    assert_eq!(fast, own, "JSON.stringify({case})");
                    let gave_up = GAVE_UP.with(Cell::get) > before;
                    assert_eq!(gave_up, gives_up, "whether {case} went to QuickJS's own");
                }
            }
        });
    }

    #[test]
    fn a_to_json_on_a_prototype_is_called() {
        with_both(|ctx| {
            for setup in [
                "Object.prototype.toJSON = () => 'from Object.prototype';",
                "delete Object.prototype.toJSON; Array.prototype.toJSON = () => 'from Array.prototype';",
            ] {
                ctx.eval::<(), _>(setup).expect("set up");
                for case in ["{ a: 1 }", "[1]", "{ a: [1] }", "[{ a: 1 }]"] {
                    let (fast, own) = both(ctx, case);
                    assert_eq!(fast, own, "after {setup}: JSON.stringify({case})");
                    // Every object inherits from Object.prototype, only arrays from
                    // Array.prototype.
                    let inherits = setup.starts_with("Object") || case.contains('[');
                    assert_eq!(fast.contains("from"), inherits, "{case}: {fast}");
                }
            }
        });
    }

    #[test]
    fn replacers_and_indents_are_quickjs_own() {
        with_both(|ctx| {
            let checks: bool = ctx
                .eval(
                    r#"JSON.stringify({ a: 1, b: [2] }, null, 2) === '{\n  "a": 1,\n  "b": [\n    2\n  ]\n}'
                    && JSON.stringify({ a: 1, b: 2 }, ["b"]) === '{"b":2}'
                    && JSON.stringify({ a: 1 }, (k, v) => (k === "a" ? v + 1 : v)) === '{"a":2}'
                    && JSON.stringify({ a: 1 }, undefined, undefined) === '{"a":1}'
                    && JSON.stringify.name === "stringify"
                    && JSON.stringify.length === 3
                    && !Object.getOwnPropertyDescriptor(JSON, "stringify").enumerable"#,
                )
                .expect("ran");
            assert!(checks);
        });
    }

    /// A JavaScript expression for a random value of the kinds JSON meets.
    fn value_source() -> impl Strategy<Value = String> {
        let text = prop::collection::vec(
            prop_oneof![
                Just("a".to_owned()),
                Just("\\\\".to_owned()),
                Just("\\\"".to_owned()),
                Just("é".to_owned()),
                Just("😀".to_owned()),
                (0u32..0x10000).prop_map(|unit| format!("\\u{unit:04x}")),
            ],
            0..6,
        )
        .prop_map(|parts| format!("\"{}\"", parts.concat()));
        let leaf = prop_oneof![
            text.clone(),
            any::<i32>().prop_map(|number| format!("({number})")),
            any::<f64>().prop_map(|number| format!("({number:e})")),
            (any::<i64>(), -30i32..30)
                .prop_map(|(mantissa, exponent)| format!("({mantissa}e{exponent})")),
            Just("-0".to_owned()),
            Just("NaN".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            Just("null".to_owned()),
            Just("undefined".to_owned()),
            Just("Symbol()".to_owned()),
            Just("(() => 1)".to_owned()),
            Just("new Date(0)".to_owned()),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            let key = prop_oneof![
                text.clone(),
                (0u32..20).prop_map(|index| format!("\"{index}\"")),
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                prop::collection::vec((key, inner), 0..6).prop_map(|members| {
                    let members: Vec<String> = members
                        .into_iter()
                        .map(|(key, value)| format!("[{key}]: {value}"))
                        .collect();
                    format!("({{{}}})", members.join(","))
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_value_is_written_as_quickjs_writes_it(source in value_source()) {
            let (fast, own) = with_both(|ctx| both(ctx, &source));
            prop_assert_eq!(fast, own, "JSON.stringify({})", source);
        }
    }

    fn quoted(text: &[u8]) -> String {
        let mut out = Vec::new();
        quote(&mut out, text);
        String::from_utf8(out).expect("quoted text is UTF-8")
    }

    #[test]
    fn quoting_escapes_what_the_standard_escapes() {
        assert_eq!(quoted(b"plain"), "\"plain\"");
        assert_eq!(quoted(b"a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quoted(b"\x08\t\n\x0c\r"), "\"\\b\\t\\n\\f\\r\"");
        assert_eq!(quoted(b"\x00\x1f\x7f"), "\"\\u0000\\u001f\x7f\"");
        assert_eq!(quoted("é→😀".as_bytes()), "\"é→😀\"");
        // Lone surrogates as QuickJS encodes them: U+D800 and U+DFFF.
        assert_eq!(
            quoted(b"x\xed\xa0\x80y\xed\xbf\xbf"),
            "\"x\\ud800y\\udfff\""
        );
    }
}
