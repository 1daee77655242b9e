//! What a trading partner's EPCIS document says besides its events: who sent it to whom, the
//! master data of the products and places it names, and the DSCSA transaction statement.
//!
//! The same [`DocumentHeader`] comes out of every syntax (EPCIS 1.2 XML, 2.0 XML, 2.0 JSON-LD),
//! so the store and `trace` never care which one a partner used. Values are kept as the partner
//! wrote them (trimmed); checking them against GS1 rules is the importer's job.

use chrono::{DateTime, FixedOffset};

/// The syntax a document was written in, recognised from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentFormat {
    /// EPCIS 1.2 XML (`urn:epcglobal:epcis:xsd:1`), as the GS1 US DSCSA guideline uses.
    Xml12,
    /// EPCIS 2.0 XML (`urn:epcglobal:epcis:xsd:2`).
    Xml20,
    /// EPCIS 2.0 JSON-LD.
    JsonLd20,
}

impl DocumentFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentFormat::Xml12 => "epcis-1.2-xml",
            DocumentFormat::Xml20 => "epcis-2.0-xml",
            DocumentFormat::JsonLd20 => "epcis-2.0-jsonld",
        }
    }
}

/// The master data of one product class (an `EPCClass` vocabulary element), keyed by the
/// SGTIN pattern or LGTIN/GTIN URI the partner used.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProductMasterData {
    /// The vocabulary element id, e.g. `urn:epc:idpat:sgtin:030001.0012345.*`.
    pub id: String,
    /// `additionalTradeItemIdentification` when its type code is `US_FDA_NDC`.
    pub ndc: Option<String>,
    pub name: Option<String>,
    pub manufacturer: Option<String>,
    pub dosage_form: Option<String>,
    pub strength: Option<String>,
    pub net_content: Option<String>,
}

/// The master data of one location or party (a `Location` vocabulary element).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartyMasterData {
    /// The vocabulary element id, e.g. `urn:epc:id:sgln:030001.111111.0`.
    pub id: String,
    pub name: Option<String>,
    pub street1: Option<String>,
    pub street2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

impl PartyMasterData {
    /// The address on one line, as a trace report prints it.
    pub fn address(&self) -> Option<String> {
        let city_line = [&self.city, &self.state, &self.postal_code]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        let parts: Vec<&str> = [self.street1.as_deref(), self.street2.as_deref()]
            .into_iter()
            .flatten()
            .chain((!city_line.is_empty()).then_some(city_line.as_str()))
            .chain(self.country.as_deref())
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// The GS1 US `dscsaTransactionStatement`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransactionStatement {
    pub affirmed: bool,
    pub legal_notice: Option<String>,
}

/// Everything in a document's header that TraceDesk keeps.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DocumentHeader {
    pub format: Option<DocumentFormat>,
    /// `EPCISDocument` or `EPCISQueryDocument`.
    pub document_type: Option<String>,
    pub creation_date: Option<DateTime<FixedOffset>>,
    /// SBDH sender and receiver identifiers (SGLN URNs or GLNs, as written).
    pub sender: Option<String>,
    pub receiver: Option<String>,
    pub instance_id: Option<String>,
    pub products: Vec<ProductMasterData>,
    pub parties: Vec<PartyMasterData>,
    pub statement: Option<TransactionStatement>,
}

/// The master-data attribute names this desk reads, with or without the CBV MDA namespace.
pub(crate) fn mda_local(attribute_id: &str) -> &str {
    for prefix in [
        "urn:epcglobal:cbv:mda#",
        "urn:epcglobal:cbv:mda:",
        "https://gs1.org/voc/",
        "cbvmda:",
    ] {
        if let Some(local) = attribute_id.strip_prefix(prefix) {
            return local;
        }
    }
    attribute_id
}

/// Fills a product or party from one `(attribute id, value)` pair of a vocabulary element.
pub(crate) fn apply_attribute(
    vocabulary_type: &str,
    element: &mut VocabularyElement,
    attribute_id: &str,
    value: String,
) {
    let value = value.trim().to_owned();
    if value.is_empty() {
        return;
    }
    let local = mda_local(attribute_id);
    match (vocabulary_kind(vocabulary_type), element) {
        (Some(VocabularyKind::EpcClass), VocabularyElement::Product(p, ndc_type)) => match local {
            "additionalTradeItemIdentification" => p.ndc = Some(value),
            "additionalTradeItemIdentificationTypeCode" => *ndc_type = Some(value),
            "regulatedProductName" => p.name = Some(value),
            "tradeItemDescription" | "descriptionShort" if p.name.is_none() => p.name = Some(value),
            "manufacturerOfTradeItemPartyName" => p.manufacturer = Some(value),
            "dosageFormType" => p.dosage_form = Some(value),
            "strengthDescription" => p.strength = Some(value),
            "netContentDescription" => p.net_content = Some(value),
            _ => {}
        },
        (Some(VocabularyKind::Location), VocabularyElement::Party(p)) => match local {
            "name" => p.name = Some(value),
            "streetAddressOne" => p.street1 = Some(value),
            "streetAddressTwo" => p.street2 = Some(value),
            "city" => p.city = Some(value),
            "state" => p.state = Some(value),
            "postalCode" => p.postal_code = Some(value),
            "countryCode" => p.country = Some(value),
            _ => {}
        },
        _ => {}
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VocabularyKind {
    EpcClass,
    Location,
}

pub(crate) fn vocabulary_kind(vocabulary_type: &str) -> Option<VocabularyKind> {
    let t = vocabulary_type.trim();
    if t.ends_with("vtype:EPCClass") || t.ends_with("/EPCClass") || t == "EPCClass" {
        Some(VocabularyKind::EpcClass)
    } else if t.ends_with("vtype:BusinessLocation")
        || t.ends_with("vtype:ReadPoint")
        || t.ends_with("vtype:Location")
        || t.ends_with("vtype:Party")
        || t.ends_with("/Location")
        || t.ends_with("/Party")
        || t.ends_with("/BusinessLocation")
    {
        Some(VocabularyKind::Location)
    } else {
        None
    }
}

/// A vocabulary element being read: a product (with the NDC type code seen so far) or a party.
#[derive(Debug)]
pub(crate) enum VocabularyElement {
    Product(ProductMasterData, Option<String>),
    Party(PartyMasterData),
    Other,
}

impl VocabularyElement {
    pub(crate) fn new(vocabulary_type: &str, id: &str) -> Self {
        let id = id.trim().to_owned();
        match vocabulary_kind(vocabulary_type) {
            Some(VocabularyKind::EpcClass) => VocabularyElement::Product(
                ProductMasterData {
                    id,
                    ..Default::default()
                },
                None,
            ),
            Some(VocabularyKind::Location) => VocabularyElement::Party(PartyMasterData {
                id,
                ..Default::default()
            }),
            None => VocabularyElement::Other,
        }
    }

    /// Adds the finished element to the header. An identification that is not an NDC is
    /// dropped: it would be read as one otherwise.
    pub(crate) fn finish(self, header: &mut DocumentHeader) {
        match self {
            VocabularyElement::Product(mut p, ndc_type) => {
                if ndc_type.as_deref().map(str::trim) != Some("US_FDA_NDC") {
                    p.ndc = None;
                }
                header.products.push(p);
            }
            VocabularyElement::Party(p) => header.parties.push(p),
            VocabularyElement::Other => {}
        }
    }
}

/// `true`/`false` (any case, or 1/0) as XML Schema booleans are written.
pub(crate) fn xml_bool(text: &str) -> Option<bool> {
    match text.trim() {
        t if t.eq_ignore_ascii_case("true") || t == "1" => Some(true),
        t if t.eq_ignore_ascii_case("false") || t == "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_on_one_line() {
        let p = PartyMasterData {
            id: "x".into(),
            street1: Some("1 Biopharm Ct".into()),
            street2: Some("Suite A".into()),
            city: Some("Thousand Oaks".into()),
            state: Some("CA".into()),
            postal_code: Some("91320".into()),
            country: Some("US".into()),
            ..Default::default()
        };
        assert_eq!(
            p.address().as_deref(),
            Some("1 Biopharm Ct, Suite A, Thousand Oaks CA 91320, US")
        );
        assert_eq!(PartyMasterData::default().address(), None);
    }

    #[test]
    fn only_an_ndc_typed_identification_is_an_ndc() {
        let mut header = DocumentHeader::default();
        let vt = "urn:epcglobal:epcis:vtype:EPCClass";
        let mut e = VocabularyElement::new(vt, "urn:epc:idpat:sgtin:030001.0012345.*");
        apply_attribute(
            vt,
            &mut e,
            "urn:epcglobal:cbv:mda#additionalTradeItemIdentification",
            "0001-0123-45".into(),
        );
        apply_attribute(
            vt,
            &mut e,
            "urn:epcglobal:cbv:mda#additionalTradeItemIdentificationTypeCode",
            "DE_PPN".into(),
        );
        e.finish(&mut header);
        assert_eq!(header.products[0].ndc, None);
        assert_eq!(xml_bool(" TRUE "), Some(true));
        assert_eq!(xml_bool("yes"), None);
    }
}
