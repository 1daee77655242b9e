//! The GS1 Application Identifier table.
//!
//! Every AI the GS1 General Specifications allocate, with what its value must look like: the
//! character set and length of each component, the content checks ([`Linter`]s) each component
//! gets, whether the AI has a predefined length (so no FNC1 separator follows it), whether it may
//! appear as a GS1 Digital Link attribute, which AIs it requires or excludes, and the Digital Link
//! key qualifiers it takes.
//!
//! The table is `const` data, searched by binary search: looking an AI up costs no allocation,
//! which keeps parsing fast enough for a scan burst from a whole tote.
//!
//! It must never guess: an AI that is not here is unknown, and the parser says so.

use super::lint::Linter::{self, *};

/// The character set of one component of an AI's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cset {
    /// Digits 0-9.
    Numeric,
    /// GS1 AI encodable character set 82.
    Cset82,
    /// GS1 AI encodable character set 39.
    Cset39,
    /// GS1 AI encodable character set 64 (base64url), used by digital signatures.
    Cset64,
}

/// One component of an AI's value: a character set, a length range and content checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub cset: Cset,
    pub min: u8,
    pub max: u8,
    /// Optional components may be absent once the value is exhausted.
    pub optional: bool,
    pub linters: &'static [Linter],
}

impl Part {
    const fn new(cset: Cset, min: u8, max: u8) -> Part {
        Part {
            cset,
            min,
            max,
            optional: false,
            linters: &[],
        }
    }
    const fn l(self, linters: &'static [Linter]) -> Part {
        Part { linters, ..self }
    }
    const fn opt(self) -> Part {
        Part {
            optional: true,
            ..self
        }
    }
    /// Whether the component always has the same length.
    pub const fn is_fixed(&self) -> bool {
        self.min == self.max
    }
}

const fn n(len: u8) -> Part {
    Part::new(Cset::Numeric, len, len)
}
const fn nv(max: u8) -> Part {
    Part::new(Cset::Numeric, 1, max)
}
const fn x(len: u8) -> Part {
    Part::new(Cset::Cset82, len, len)
}
const fn xv(max: u8) -> Part {
    Part::new(Cset::Cset82, 1, max)
}
const fn yv(max: u8) -> Part {
    Part::new(Cset::Cset39, 1, max)
}
const fn zv(max: u8) -> Part {
    Part::new(Cset::Cset64, 1, max)
}

/// The definition of one AI, or of a range of AIs that share a definition (e.g. 3100-3105).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AiDef {
    /// First AI of the range (the AI itself when not a range).
    pub first: &'static str,
    /// Last AI of the range, same number of digits as `first`.
    pub last: &'static str,
    /// Predefined length: the value has a fixed length and needs no FNC1 after it.
    pub predefined: bool,
    /// May appear as a GS1 Digital Link data attribute (query parameter).
    pub dl_attribute: bool,
    pub parts: &'static [Part],
    /// Every group must be satisfied; a group holds alternatives, an alternative is one AI or
    /// several joined with `+` (all required). Patterns use `n` for any digit (`31nn`).
    pub requires: &'static [&'static [&'static str]],
    /// AIs (or `n` patterns) that must not appear with this one.
    pub excludes: &'static [&'static str],
    /// When this AI is a Digital Link primary key: the qualifier paths it accepts, each a
    /// comma-separated sequence in the order they must appear (an empty slice: no qualifiers).
    pub dl_key: Option<&'static [&'static str]>,
    pub title: &'static str,
    /// Smallest and largest total value length, computed once from `parts`.
    min_len: u16,
    max_len: u16,
}

/// Total length bounds of `parts`, at compile time.
const fn bounds(parts: &[Part]) -> (u16, u16) {
    let (mut min, mut max) = (0u16, 0u16);
    let mut rest = parts;
    while let [part, tail @ ..] = rest {
        if !part.optional {
            min += part.min as u16;
        }
        max += part.max as u16;
        rest = tail;
    }
    (min, max)
}

const FIXED: u8 = 1;
const DLATTR: u8 = 2;

const fn ai(code: &'static str, flags: u8, parts: &'static [Part], title: &'static str) -> AiDef {
    range(code, code, flags, parts, title)
}

const fn range(
    first: &'static str,
    last: &'static str,
    flags: u8,
    parts: &'static [Part],
    title: &'static str,
) -> AiDef {
    let (min_len, max_len) = bounds(parts);
    AiDef {
        min_len,
        max_len,
        first,
        last,
        predefined: flags & FIXED != 0,
        dl_attribute: flags & DLATTR != 0,
        parts,
        requires: &[],
        excludes: &[],
        dl_key: None,
        title,
    }
}

impl AiDef {
    const fn req(self, requires: &'static [&'static [&'static str]]) -> AiDef {
        AiDef { requires, ..self }
    }
    const fn ex(self, excludes: &'static [&'static str]) -> AiDef {
        AiDef { excludes, ..self }
    }
    const fn key(self, qualifiers: &'static [&'static str]) -> AiDef {
        AiDef {
            dl_key: Some(qualifiers),
            ..self
        }
    }

    /// Smallest and largest total length of the value.
    pub fn length_bounds(&self) -> (usize, usize) {
        (usize::from(self.min_len), usize::from(self.max_len))
    }

    /// Whether the whole value is numeric.
    pub fn is_numeric(&self) -> bool {
        self.parts.iter().all(|p| p.cset == Cset::Numeric)
    }
}

const GTIN: &[Part] = &[n(14).l(&[Csum, Gcppos2])];
const GLN: &[Part] = &[n(13).l(&[Csum, Gcppos1])];
const DATE0: &[Part] = &[n(6).l(&[Yymmd0])];
const MEASURE: &[Part] = &[n(6)];
const TRADE: &[&[&str]] = &[&["01", "02"]];
const LOGISTIC: &[&[&str]] = &[&["00", "01"]];
const ITEM: &[&[&str]] = &[&["01", "02", "8006", "8026"]];
const PRICE_REQ: &[&str] = &["30", "31nn", "32nn", "35nn", "36nn"];
const COUNTRIES: &[Part] = &[
    n(3).l(&[Iso3166]),
    n(3).l(&[Iso3166]).opt(),
    n(3).l(&[Iso3166]).opt(),
    n(3).l(&[Iso3166]).opt(),
    n(3).l(&[Iso3166]).opt(),
];
const ADDR35: &[Part] = &[xv(35).l(&[Pcenc])];
const ADDR70: &[Part] = &[xv(70).l(&[Pcenc])];
const TEMP: &[Part] = &[n(6), x(1).l(&[Hyphen]).opt()];
const PROCESSOR: &[Part] = &[n(3).l(&[Iso3166999]), xv(27)];
const CERT: &[Part] = &[x(2), xv(28)];
const CERT_REQ: &[&[&str]] = &[&["01", "8004"]];
const PERSON: &[&[&str]] = &[&["8017", "8018"]];
const NAME_EX: &[&str] = &["7256", "7259"];
const ITIP: &[Part] = &[n(14).l(&[Csum, Gcppos2]), n(4).l(&[PieceOfTotal])];
const GSRN: &[Part] = &[n(18).l(&[Csum, Gcppos1])];

const ONLY_01: &[&[&str]] = &[&["01"]];
const COUNT_REQ: &[&[&str]] = &[&["30", "31nn", "32nn", "35nn", "36nn"]];

/// A measurement AI (31nn-36nn): six digits, the AI's last digit placing the decimal point.
const fn m(
    first: &'static str,
    last: &'static str,
    requires: &'static [&'static [&'static str]],
    excludes: &'static [&'static str],
    title: &'static str,
) -> AiDef {
    range(first, last, FIXED | DLATTR, MEASURE, title)
        .req(requires)
        .ex(excludes)
}

/// Every AI, sorted by AI (lexicographically, which [`lookup`] relies on).
pub static TABLE: &[AiDef] = &[
    ai("00", FIXED | DLATTR, &[n(18).l(&[Csum, Gcppos2])], "SSCC").key(&[]),
    ai("01", FIXED | DLATTR, GTIN, "GTIN")
        .ex(&["255", "37"])
        .key(&["22,10,21", "235"]),
    ai("02", FIXED | DLATTR, GTIN, "CONTENT")
        .ex(&["01", "03"])
        .req(&[&["37"]]),
    ai("03", FIXED, GTIN, "MTO GTIN").ex(&["01", "02", "37"]),
    ai("10", DLATTR, &[xv(20)], "BATCH/LOT").req(&[&["01", "02", "03", "8006", "8026"]]),
    ai("11", FIXED | DLATTR, DATE0, "PROD DATE").req(&[&["01", "02", "03", "8006", "8026"]]),
    ai("12", FIXED | DLATTR, DATE0, "DUE DATE").req(&[&["8020"]]),
    ai("13", FIXED | DLATTR, DATE0, "PACK DATE").req(&[&["01", "02", "03", "8006", "8026"]]),
    ai("15", FIXED | DLATTR, DATE0, "BEST BEFORE or BEST BY")
        .req(&[&["01", "02", "03", "8006", "8026"]]),
    ai("16", FIXED | DLATTR, DATE0, "SELL BY").req(&[&["01", "02", "03", "8006", "8026"]]),
    ai("17", FIXED | DLATTR, DATE0, "USE BY or EXPIRY")
        .req(&[&["01", "02", "03", "255", "8006", "8026"]]),
    ai("20", FIXED | DLATTR, &[n(2)], "VARIANT").req(&[&["01", "02", "8006", "8026"]]),
    ai("21", 0, &[xv(20)], "SERIAL")
        .req(&[&["01", "03", "8006"]])
        .ex(&["235"]),
    ai("22", 0, &[xv(20)], "CPV").req(ONLY_01),
    ai("235", 0, &[xv(28)], "TPX").req(ONLY_01),
    ai("240", DLATTR, &[xv(30)], "ADDITIONAL ID").req(ITEM),
    ai("241", DLATTR, &[xv(30)], "CUST. PART No.").req(ITEM),
    ai("242", DLATTR, &[nv(6)], "MTO VARIANT").req(ITEM),
    ai("243", DLATTR, &[xv(20)], "PCN").req(ONLY_01),
    ai("250", DLATTR, &[xv(30)], "SECONDARY SERIAL").req(&[&["01", "8006"], &["21"]]),
    ai("251", DLATTR, &[xv(30)], "REF. TO SOURCE").req(&[&["01", "8006"]]),
    ai(
        "253",
        DLATTR,
        &[n(13).l(&[Csum, Gcppos1]), xv(17).opt()],
        "GDTI",
    )
    .key(&[]),
    ai("254", 0, &[xv(20)], "GLN EXTENSION COMPONENT").req(&[&["414"]]),
    ai(
        "255",
        DLATTR,
        &[n(13).l(&[Csum, Gcppos1]), nv(12).opt()],
        "GCN",
    )
    .key(&[])
    .ex(&["01", "02", "415", "8006", "8020", "8026"]),
    ai("30", DLATTR, &[nv(8)], "VAR. COUNT").req(TRADE),
    m("3100", "3105", TRADE, &["310n"], "NET WEIGHT (kg)"),
    m("3110", "3115", TRADE, &["311n"], "LENGTH (m)"),
    m("3120", "3125", TRADE, &["312n"], "WIDTH (m)"),
    m("3130", "3135", TRADE, &["313n"], "HEIGHT (m)"),
    m("3140", "3145", TRADE, &["314n"], "AREA (m²)"),
    m("3150", "3155", TRADE, &["315n"], "NET VOLUME (l)"),
    m("3160", "3165", TRADE, &["316n"], "NET VOLUME (m³)"),
    m("3200", "3205", TRADE, &["320n"], "NET WEIGHT (lb)"),
    m("3210", "3215", TRADE, &["321n"], "LENGTH (in)"),
    m("3220", "3225", TRADE, &["322n"], "LENGTH (ft)"),
    m("3230", "3235", TRADE, &["323n"], "LENGTH (yd)"),
    m("3240", "3245", TRADE, &["324n"], "WIDTH (in)"),
    m("3250", "3255", TRADE, &["325n"], "WIDTH (ft)"),
    m("3260", "3265", TRADE, &["326n"], "WIDTH (yd)"),
    m("3270", "3275", TRADE, &["327n"], "HEIGHT (in)"),
    m("3280", "3285", TRADE, &["328n"], "HEIGHT (ft)"),
    m("3290", "3295", TRADE, &["329n"], "HEIGHT (yd)"),
    m("3300", "3305", LOGISTIC, &["330n"], "GROSS WEIGHT (kg)"),
    m("3310", "3315", LOGISTIC, &["331n"], "LENGTH (m), log"),
    m("3320", "3325", LOGISTIC, &["332n"], "WIDTH (m), log"),
    m("3330", "3335", LOGISTIC, &["333n"], "HEIGHT (m), log"),
    m("3340", "3345", LOGISTIC, &["334n"], "AREA (m²), log"),
    m("3350", "3355", LOGISTIC, &["335n"], "VOLUME (l), log"),
    m("3360", "3365", LOGISTIC, &["336n"], "VOLUME (m³), log"),
    m("3370", "3375", ONLY_01, &["337n"], "KG PER m²"),
    m("3400", "3405", LOGISTIC, &["340n"], "GROSS WEIGHT (lb)"),
    m("3410", "3415", LOGISTIC, &["341n"], "LENGTH (in), log"),
    m("3420", "3425", LOGISTIC, &["342n"], "LENGTH (ft), log"),
    m("3430", "3435", LOGISTIC, &["343n"], "LENGTH (yd), log"),
    m("3440", "3445", LOGISTIC, &["344n"], "WIDTH (in), log"),
    m("3450", "3455", LOGISTIC, &["345n"], "WIDTH (ft), log"),
    m("3460", "3465", LOGISTIC, &["346n"], "WIDTH (yd), log"),
    m("3470", "3475", LOGISTIC, &["347n"], "HEIGHT (in), log"),
    m("3480", "3485", LOGISTIC, &["348n"], "HEIGHT (ft), log"),
    m("3490", "3495", LOGISTIC, &["349n"], "HEIGHT (yd), log"),
    m("3500", "3505", TRADE, &["350n"], "AREA (in²)"),
    m("3510", "3515", TRADE, &["351n"], "AREA (ft²)"),
    m("3520", "3525", TRADE, &["352n"], "AREA (yd²)"),
    m("3530", "3535", LOGISTIC, &["353n"], "AREA (in²), log"),
    m("3540", "3545", LOGISTIC, &["354n"], "AREA (ft²), log"),
    m("3550", "3555", LOGISTIC, &["355n"], "AREA (yd²), log"),
    m("3560", "3565", TRADE, &["356n"], "NET WEIGHT (tr oz)"),
    m("3570", "3575", TRADE, &["357n"], "NET VOLUME (oz)"),
    m("3600", "3605", TRADE, &["360n"], "NET VOLUME (qt (US))"),
    m("3610", "3615", TRADE, &["361n"], "NET VOLUME (gal.)"),
    m("3620", "3625", LOGISTIC, &["362n"], "VOLUME (qt (US)), log"),
    m(
        "3630",
        "3635",
        LOGISTIC,
        &["363n"],
        "VOLUME (gal (US)), log",
    ),
    m("3640", "3645", TRADE, &["364n"], "NET VOLUME (in³)"),
    m("3650", "3655", TRADE, &["365n"], "NET VOLUME (ft³)"),
    m("3660", "3665", TRADE, &["366n"], "NET VOLUME (yd³)"),
    m("3670", "3675", LOGISTIC, &["367n"], "VOLUME (in³), log"),
    m("3680", "3685", LOGISTIC, &["368n"], "VOLUME (ft³), log"),
    m("3690", "3695", LOGISTIC, &["369n"], "VOLUME (yd³), log"),
    ai("37", DLATTR, &[nv(8)], "COUNT").req(&[&["00"], &["02", "8026"]]),
    range("3900", "3909", DLATTR, &[nv(15)], "AMOUNT")
        .req(&[&["255", "8020"]])
        .ex(&["390n", "391n", "394n", "8111"]),
    range(
        "3910",
        "3919",
        DLATTR,
        &[n(3).l(&[Iso4217]), nv(15)],
        "AMOUNT",
    )
    .req(&[&["8020"]])
    .ex(&["391n"]),
    range("3920", "3929", DLATTR, &[nv(15)], "PRICE")
        .req(&[&["01"], PRICE_REQ])
        .ex(&["392n", "393n"]),
    range(
        "3930",
        "3939",
        DLATTR,
        &[n(3).l(&[Iso4217]), nv(15)],
        "PRICE",
    )
    .req(&[PRICE_REQ])
    .ex(&["393n"]),
    range("3940", "3943", DLATTR, &[n(4)], "PRCNT OFF")
        .req(&[&["255"]])
        .ex(&["394n", "8111"]),
    range("3950", "3955", DLATTR, &[n(6)], "PRICE/UoM")
        .req(COUNT_REQ)
        .ex(&["392n", "393n", "395n", "8005"]),
    ai("400", DLATTR, &[xv(30)], "ORDER NUMBER"),
    ai("401", DLATTR, &[xv(30).l(&[Gcppos1])], "GINC").key(&[]),
    ai("402", DLATTR, &[n(17).l(&[Csum, Gcppos1])], "GSIN").key(&[]),
    ai("403", DLATTR, &[xv(30)], "ROUTE").req(&[&["00"]]),
    ai("410", FIXED | DLATTR, GLN, "SHIP TO LOC"),
    ai("411", FIXED | DLATTR, GLN, "BILL TO"),
    ai("412", FIXED | DLATTR, GLN, "PURCHASE FROM"),
    ai("413", FIXED | DLATTR, GLN, "SHIP FOR LOC"),
    ai("414", FIXED | DLATTR, GLN, "LOC No.").key(&["254", "7040"]),
    ai("415", FIXED | DLATTR, GLN, "PAY TO")
        .req(&[&["8020"]])
        .key(&["8020"]),
    ai("416", FIXED | DLATTR, GLN, "PROD/SERV LOC"),
    ai("417", FIXED | DLATTR, GLN, "PARTY").key(&["7040"]),
    ai("420", DLATTR, &[xv(20)], "SHIP TO POST").ex(&["421"]),
    ai("421", DLATTR, &[n(3).l(&[Iso3166]), xv(9)], "SHIP TO POST").ex(&["4307"]),
    ai("422", DLATTR, &[n(3).l(&[Iso3166])], "ORIGIN")
        .req(ITEM)
        .ex(&["426"]),
    ai("423", DLATTR, COUNTRIES, "COUNTRY - INITIAL PROCESS")
        .req(TRADE)
        .ex(&["426"]),
    ai("424", DLATTR, &[n(3).l(&[Iso3166])], "COUNTRY - PROCESS")
        .req(TRADE)
        .ex(&["426"]),
    ai("425", DLATTR, COUNTRIES, "COUNTRY - DISASSEMBLY")
        .req(TRADE)
        .ex(&["426"]),
    ai(
        "426",
        DLATTR,
        &[n(3).l(&[Iso3166])],
        "COUNTRY - FULL PROCESS",
    )
    .req(TRADE),
    ai("427", DLATTR, &[xv(3)], "ORIGIN SUBDIVISION").req(&[&["01", "02"], &["422"]]),
    ai("4300", DLATTR, ADDR35, "SHIP TO COMP").req(&[&["00"]]),
    ai("4301", DLATTR, ADDR35, "SHIP TO NAME").req(&[&["00"]]),
    ai("4302", DLATTR, ADDR70, "SHIP TO ADD1").req(&[&["00"]]),
    ai("4303", DLATTR, ADDR70, "SHIP TO ADD2").req(&[&["4302"]]),
    ai("4304", DLATTR, ADDR70, "SHIP TO SUB").req(&[&["00"]]),
    ai("4305", DLATTR, ADDR70, "SHIP TO LOC").req(&[&["00"]]),
    ai("4306", DLATTR, ADDR70, "SHIP TO REG").req(&[&["00"]]),
    ai(
        "4307",
        DLATTR,
        &[x(2).l(&[Iso3166Alpha2])],
        "SHIP TO COUNTRY",
    )
    .req(&[&["00"]]),
    ai("4308", DLATTR, &[xv(30)], "SHIP TO PHONE").req(&[&["00"]]),
    ai(
        "4309",
        DLATTR,
        &[n(10).l(&[Latitude]), n(10).l(&[Longitude])],
        "SHIP TO GEO",
    )
    .req(&[&["00"]]),
    ai("4310", DLATTR, ADDR35, "RTN TO COMP").req(&[&["00"]]),
    ai("4311", DLATTR, ADDR35, "RTN TO NAME").req(&[&["00"]]),
    ai("4312", DLATTR, ADDR70, "RTN TO ADD1").req(&[&["00"]]),
    ai("4313", DLATTR, ADDR70, "RTN TO ADD2").req(&[&["4312"]]),
    ai("4314", DLATTR, ADDR70, "RTN TO SUB").req(&[&["00"]]),
    ai("4315", DLATTR, ADDR70, "RTN TO LOC").req(&[&["00"]]),
    ai("4316", DLATTR, ADDR70, "RTN TO REG").req(&[&["00"]]),
    ai(
        "4317",
        DLATTR,
        &[x(2).l(&[Iso3166Alpha2])],
        "RTN TO COUNTRY",
    )
    .req(&[&["00"]]),
    ai("4318", DLATTR, &[xv(20)], "RTN TO POST").req(&[&["00"]]),
    ai("4319", DLATTR, &[xv(30)], "RTN TO PHONE").req(&[&["00"]]),
    ai("4320", DLATTR, ADDR35, "SRV DESCRIPTION").req(&[&["00"]]),
    ai("4321", DLATTR, &[n(1).l(&[YesNo])], "DANGEROUS GOODS").req(&[&["00"]]),
    ai("4322", DLATTR, &[n(1).l(&[YesNo])], "AUTH TO LEAVE").req(&[&["00"]]),
    ai("4323", DLATTR, &[n(1).l(&[YesNo])], "SIG REQUIRED").req(&[&["00"]]),
    ai(
        "4324",
        DLATTR,
        &[n(6).l(&[Yymmd0]), n(4).l(&[Hhmi])],
        "NOT BEF DEL DT",
    )
    .req(&[&["00"]]),
    ai(
        "4325",
        DLATTR,
        &[n(6).l(&[Yymmd0]), n(4).l(&[Hhmi])],
        "NOT AFT DEL DT",
    )
    .req(&[&["00"]]),
    ai("4326", DLATTR, &[n(6).l(&[Yymmdd])], "REL DATE").req(&[&["00"]]),
    ai("4330", DLATTR, TEMP, "MAX TEMP F.")
        .req(&[&["00"]])
        .ex(&["4331"]),
    ai("4331", DLATTR, TEMP, "MAX TEMP C.")
        .req(&[&["00"]])
        .ex(&["4330"]),
    ai("4332", DLATTR, TEMP, "MIN TEMP F.")
        .req(&[&["00"]])
        .ex(&["4333"]),
    ai("4333", DLATTR, TEMP, "MIN TEMP C.")
        .req(&[&["00"]])
        .ex(&["4332"]),
    ai("7001", DLATTR, &[n(13)], "NSN").req(ITEM),
    ai("7002", DLATTR, &[xv(30)], "MEAT CUT").req(TRADE),
    ai(
        "7003",
        DLATTR,
        &[n(6).l(&[Yymmdd]), n(4).l(&[Hhmi])],
        "EXPIRY TIME",
    )
    .req(TRADE),
    ai("7004", DLATTR, &[nv(4)], "ACTIVE POTENCY").req(&[&["01+10"]]),
    ai("7005", DLATTR, &[xv(12)], "CATCH AREA").req(TRADE),
    ai("7006", DLATTR, &[n(6).l(&[Yymmdd])], "FIRST FREEZE DATE").req(TRADE),
    ai(
        "7007",
        DLATTR,
        &[n(6).l(&[Yymmdd]), n(6).l(&[Yymmdd]).opt()],
        "HARVEST DATE",
    )
    .req(TRADE),
    ai("7008", DLATTR, &[xv(3)], "AQUATIC SPECIES").req(TRADE),
    ai("7009", DLATTR, &[xv(10)], "FISHING GEAR TYPE").req(TRADE),
    ai("7010", DLATTR, &[xv(2)], "PROD METHOD").req(TRADE),
    ai(
        "7011",
        DLATTR,
        &[n(6).l(&[Yymmdd]), n(4).l(&[Hhmi]).opt()],
        "TEST BY DATE",
    )
    .req(TRADE),
    ai("7020", DLATTR, &[xv(20)], "REFURB LOT").req(&[&["01", "8006"], &["416"]]),
    ai("7021", DLATTR, &[xv(20)], "FUNC STAT").req(&[&["01", "8006"]]),
    ai("7022", DLATTR, &[xv(20)], "REV STAT").req(&[&["7021"]]),
    ai("7023", DLATTR, &[xv(30).l(&[Gcppos1])], "GIAI - ASSEMBLY"),
    ai("7030", DLATTR, PROCESSOR, "PROCESSOR # 0").req(TRADE),
    ai("7031", DLATTR, PROCESSOR, "PROCESSOR # 1").req(TRADE),
    ai("7032", DLATTR, PROCESSOR, "PROCESSOR # 2").req(TRADE),
    ai("7033", DLATTR, PROCESSOR, "PROCESSOR # 3").req(TRADE),
    ai("7034", DLATTR, PROCESSOR, "PROCESSOR # 4").req(TRADE),
    ai("7035", DLATTR, PROCESSOR, "PROCESSOR # 5").req(TRADE),
    ai("7036", DLATTR, PROCESSOR, "PROCESSOR # 6").req(TRADE),
    ai("7037", DLATTR, PROCESSOR, "PROCESSOR # 7").req(TRADE),
    ai("7038", DLATTR, PROCESSOR, "PROCESSOR # 8").req(TRADE),
    ai("7039", DLATTR, PROCESSOR, "PROCESSOR # 9").req(TRADE),
    ai(
        "7040",
        0,
        &[n(1), x(1), x(1), x(1).l(&[ImporterIdx])],
        "UIC+EXT",
    ),
    ai("7041", 0, &[xv(4).l(&[PackageType])], "UFRGT UNIT TYPE").req(&[&["00"]]),
    ai("710", DLATTR, &[xv(20)], "NHRN PZN").req(ONLY_01),
    ai("711", DLATTR, &[xv(20)], "NHRN CIP").req(ONLY_01),
    ai("712", DLATTR, &[xv(20)], "NHRN CN").req(ONLY_01),
    ai("713", DLATTR, &[xv(20)], "NHRN DRN").req(ONLY_01),
    ai("714", DLATTR, &[xv(20)], "NHRN AIM").req(ONLY_01),
    ai("715", DLATTR, &[xv(20)], "NHRN NDC").req(ONLY_01),
    ai("716", DLATTR, &[xv(20)], "NHRN AIC").req(ONLY_01),
    ai("717", DLATTR, &[xv(20)], "NHRN SRN").req(ONLY_01),
    ai("7230", DLATTR, CERT, "CERT # 1").req(CERT_REQ),
    ai("7231", DLATTR, CERT, "CERT # 2").req(CERT_REQ),
    ai("7232", DLATTR, CERT, "CERT # 3").req(CERT_REQ),
    ai("7233", DLATTR, CERT, "CERT # 4").req(CERT_REQ),
    ai("7234", DLATTR, CERT, "CERT # 5").req(CERT_REQ),
    ai("7235", DLATTR, CERT, "CERT # 6").req(CERT_REQ),
    ai("7236", DLATTR, CERT, "CERT # 7").req(CERT_REQ),
    ai("7237", DLATTR, CERT, "CERT # 8").req(CERT_REQ),
    ai("7238", DLATTR, CERT, "CERT # 9").req(CERT_REQ),
    ai("7239", DLATTR, CERT, "CERT # 10").req(CERT_REQ),
    ai("7240", DLATTR, &[xv(20)], "PROTOCOL").req(&[&["01", "8006"]]),
    ai("7241", DLATTR, &[n(2).l(&[MediaType])], "AIDC MEDIA TYPE").req(&[&["8017", "8018"]]),
    ai("7242", DLATTR, &[xv(25)], "VCN").req(PERSON),
    ai("7250", DLATTR, &[n(8).l(&[Yyyymmdd])], "DOB")
        .req(&[&["8018"]])
        .ex(&["7251"]),
    ai(
        "7251",
        DLATTR,
        &[n(8).l(&[Yyyymmdd]), n(4).l(&[Hhmi])],
        "DOB TIME",
    )
    .req(&[&["8018"]])
    .ex(&["7250"]),
    ai("7252", DLATTR, &[n(1).l(&[Iso5218])], "BIO SEX").req(&[&["8018"]]),
    ai("7253", DLATTR, &[xv(40).l(&[Pcenc])], "FAMILY NAME")
        .req(PERSON)
        .ex(NAME_EX),
    ai("7254", DLATTR, &[xv(40).l(&[Pcenc])], "GIVEN NAME")
        .req(PERSON)
        .ex(NAME_EX),
    ai("7255", DLATTR, &[xv(10)], "SUFFIX")
        .req(PERSON)
        .ex(NAME_EX),
    ai("7256", DLATTR, &[xv(90).l(&[Pcenc])], "FULL NAME").req(PERSON),
    ai("7257", DLATTR, &[xv(70).l(&[Pcenc])], "PERSON ADDR").req(&[&["8018"]]),
    ai(
        "7258",
        DLATTR,
        &[x(3).l(&[PosInSeqSlash])],
        "BIRTH SEQUENCE",
    )
    .req(&[&["8018+7259"]]),
    ai("7259", DLATTR, &[xv(40).l(&[Pcenc])], "BABY")
        .req(&[&["8018"]])
        .ex(&["7256"]),
    ai(
        "8001",
        DLATTR,
        &[
            n(4).l(&[NonZero]),
            n(5).l(&[NonZero]),
            n(3).l(&[NonZero]),
            n(1).l(&[Winding]),
            n(1),
        ],
        "DIMENSIONS",
    )
    .req(ONLY_01),
    ai("8002", DLATTR, &[xv(20)], "CMT No."),
    ai(
        "8003",
        DLATTR,
        &[n(1).l(&[Zero]), n(13).l(&[Csum, Gcppos1]), xv(16).opt()],
        "GRAI",
    )
    .key(&[]),
    ai("8004", DLATTR, &[xv(30).l(&[Gcppos1])], "GIAI").key(&["7040"]),
    ai("8005", DLATTR, &[n(6)], "PRICE PER UNIT").req(TRADE),
    ai("8006", DLATTR, ITIP, "ITIP")
        .ex(&["01", "37"])
        .key(&["22,10,21"]),
    ai("8007", DLATTR, &[xv(34).l(&[Iban])], "IBAN").req(&[&["415"]]),
    ai(
        "8008",
        DLATTR,
        &[
            n(6).l(&[Yymmdd]),
            n(2).l(&[Hh]),
            n(2).l(&[Mi]).opt(),
            n(2).l(&[Ss]).opt(),
        ],
        "PROD TIME",
    )
    .req(TRADE),
    ai("8009", DLATTR, &[xv(50)], "OPTSEN").req(&[&["00", "01"]]),
    ai("8010", DLATTR, &[yv(30).l(&[Gcppos1])], "CPID").key(&["8011"]),
    ai("8011", 0, &[nv(12).l(&[NoZeroPrefix])], "CPID SERIAL").req(&[&["8010"]]),
    ai("8012", DLATTR, &[xv(20)], "VERSION").req(&[&["01", "8006"]]),
    ai("8013", DLATTR, &[xv(25).l(&[CsumAlpha, Gcppos1])], "GMN").key(&[]),
    ai(
        "8014",
        0,
        &[xv(25).l(&[CsumAlpha, Gcppos1, HasNonDigit])],
        "MUDI",
    )
    .req(ONLY_01),
    ai("8017", DLATTR, GSRN, "GSRN - PROVIDER")
        .ex(&["8018"])
        .key(&["8019"]),
    ai("8018", DLATTR, GSRN, "GSRN - RECIPIENT")
        .ex(&["8017"])
        .key(&["8019"]),
    ai("8019", 0, &[nv(10)], "SRIN").req(&[&["8017", "8018"]]),
    ai("8020", 0, &[xv(25)], "REF No.").req(&[&["415"]]),
    ai("8026", DLATTR, ITIP, "ITIP CONTENT")
        .req(&[&["37"]])
        .ex(&["02", "8006"]),
    ai("8030", DLATTR, &[zv(90)], "DIGSIG").req(&[&[
        "00",
        "01+21",
        "253",
        "255",
        "8003",
        "8004",
        "8006+21",
        "8010+8011",
        "8017",
        "8018",
    ]]),
    ai("8040", 0, &[n(15)], "IMEI").req(&[&["01+21"]]),
    ai("8041", 0, &[n(15)], "IMEI2").req(&[&["01+21+8040"]]),
    ai("8042", 0, &[n(32)], "ESIM").req(&[&["01+21+8040"]]),
    ai("8043", 0, &[n(18), nv(2).opt()], "PSIM").req(&[&["01+21+8040"]]),
    ai("8110", DLATTR, &[xv(70).l(&[CouponCode])], ""),
    ai("8111", DLATTR, &[n(4)], "POINTS").req(&[&["255"]]),
    ai("8112", DLATTR, &[xv(70).l(&[CouponPosOffer])], ""),
    ai("8200", 0, &[xv(70)], "PRODUCT URL").req(ONLY_01),
    ai("90", DLATTR, &[xv(30)], "INTERNAL"),
    range("91", "99", DLATTR, &[xv(90)], "INTERNAL"),
];

/// How many digits an AI has, from its first two digits, as the GS1 General Specifications fix
/// it for every AI that exists or may be allocated. `None`: no AI starts with these digits.
pub fn ai_length(first_two: &[u8]) -> Option<usize> {
    let [a, b] = first_two else { return None };
    if !a.is_ascii_digit() || !b.is_ascii_digit() {
        return None;
    }
    let prefix = (a - b'0') * 10 + (b - b'0');
    match prefix {
        0..=3 | 10..=22 | 30 | 37 | 90..=99 => Some(2),
        23..=25 | 40..=42 | 71 => Some(3),
        31..=36 | 39 | 43 | 70 | 72 | 80..=82 => Some(4),
        _ => None,
    }
}

/// The definition of `ai`, if it is allocated.
pub fn lookup(ai: &str) -> Option<&'static AiDef> {
    lookup_bytes(ai.as_bytes())
}

/// [`lookup`] on the AI's digits as bytes: one array index, no search, as the parser does it
/// for every element of every scan.
pub fn lookup_bytes(ai: &[u8]) -> Option<&'static AiDef> {
    let slot = slot(ai)?;
    let idx = *INDEX.get(slot)?;
    TABLE.get(usize::from(idx).checked_sub(1)?)
}

/// Every possible AI (2, 3 or 4 digits) has a slot: 2-digit AIs at 0..100, 3-digit at
/// 100..1100, 4-digit at 1100..11100.
fn slot(ai: &[u8]) -> Option<usize> {
    if !ai.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = ai
        .iter()
        .fold(0usize, |acc, b| acc * 10 + usize::from(b - b'0'));
    match ai.len() {
        2 => Some(n),
        3 => Some(100 + n),
        4 => Some(1100 + n),
        _ => None,
    }
}

/// Slot -> 1 + position in [`TABLE`] (0: no such AI), built once from the table.
static INDEX: std::sync::LazyLock<Vec<u16>> = std::sync::LazyLock::new(|| {
    let mut index = vec![0u16; 11_100];
    for (pos, def) in TABLE.iter().enumerate() {
        let (Some(first), Some(last)) = (slot(def.first.as_bytes()), slot(def.last.as_bytes()))
        else {
            continue;
        };
        for entry in index.iter_mut().take(last + 1).skip(first) {
            *entry = u16::try_from(pos + 1).unwrap_or(0);
        }
    }
    index
});

/// Whether an AI matches a pattern from `requires`/`excludes` (`n` stands for any digit).
pub fn matches_pattern(ai: &str, pattern: &str) -> bool {
    matches_pattern_bytes(ai.as_bytes(), pattern)
}

/// [`matches_pattern`] on the AI's digits as bytes.
pub fn matches_pattern_bytes(ai: &[u8], pattern: &str) -> bool {
    ai.len() == pattern.len()
        && ai
            .iter()
            .zip(pattern.bytes())
            .all(|(&a, p)| p == b'n' && a.is_ascii_digit() || a == p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_ranges_are_well_formed() {
        for pair in TABLE.windows(2) {
            assert!(
                pair[0].first < pair[1].first,
                "{} before {}",
                pair[0].first,
                pair[1].first
            );
            assert!(
                pair[0].last < pair[1].first,
                "{} overlaps {}",
                pair[0].last,
                pair[1].first
            );
        }
        for def in TABLE {
            assert_eq!(def.first.len(), def.last.len(), "{}", def.first);
            assert!(def.first <= def.last);
            assert_eq!(
                ai_length(def.first.as_bytes().get(..2).unwrap_or_default()),
                Some(def.first.len())
            );
            // Only the last component may vary in length; optional ones come last.
            let n = def.parts.len();
            for (i, part) in def.parts.iter().enumerate() {
                if i + 1 < n && !part.optional {
                    assert!(
                        part.is_fixed() || def.parts[i + 1..].iter().all(|p| p.optional),
                        "{}",
                        def.first
                    );
                }
            }
            if def.predefined {
                assert!(
                    def.parts.iter().all(|p| p.is_fixed() && !p.optional),
                    "{}",
                    def.first
                );
            }
        }
    }

    #[test]
    fn lookup_finds_single_ais_and_ranges() {
        assert_eq!(lookup("01").map(|d| d.title), Some("GTIN"));
        assert_eq!(lookup("3103").map(|d| d.title), Some("NET WEIGHT (kg)"));
        assert_eq!(lookup("3106"), None);
        assert_eq!(lookup("95").map(|d| d.first), Some("91"));
        assert_eq!(lookup("14"), None);
        assert_eq!(lookup("715").map(|d| d.title), Some("NHRN NDC"));
        assert_eq!(lookup(""), None);
        assert_eq!(lookup("0"), None);
    }

    #[test]
    fn ai_length_follows_the_prefix_table() {
        assert_eq!(ai_length(b"01"), Some(2));
        assert_eq!(ai_length(b"23"), Some(3));
        assert_eq!(ai_length(b"31"), Some(4));
        assert_eq!(ai_length(b"71"), Some(3));
        assert_eq!(ai_length(b"89"), None);
        assert_eq!(ai_length(b"0A"), None);
        assert_eq!(ai_length(b"0"), None);
    }

    #[test]
    fn patterns_match_digits() {
        assert!(matches_pattern("3103", "310n"));
        assert!(matches_pattern("3103", "31nn"));
        assert!(!matches_pattern("3203", "31nn"));
        assert!(!matches_pattern("310", "310n"));
        assert!(matches_pattern("01", "01"));
    }
}
