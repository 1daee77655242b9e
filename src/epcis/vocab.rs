//! The Core Business Vocabulary (CBV 2.0) words EPCIS 2.0 JSON-LD writes as bare strings, and
//! the web URIs they stand for.
//!
//! The lists mirror the term maps of the standard EPCIS 2.0.0 JSON-LD context
//! (`https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld`), which TraceDesk never
//! fetches: hashing and reading must work offline.

/// CBV web vocabulary root.
pub const CBV: &str = "https://ref.gs1.org/cbv/";
/// GS1 web vocabulary root as the EPCIS 2.0.0 context binds the `gs1:` prefix.
pub const GS1_VOC: &str = "https://gs1.org/voc/";

/// The EPCIS 1.x XML binding's namespace.
pub const NS_EPCIS_1: &str = "urn:epcglobal:epcis:xsd:1";
/// The EPCIS 2.0 XML binding's namespace.
pub const NS_EPCIS_2: &str = "urn:epcglobal:epcis:xsd:2";
/// The EPCIS 1.x query interface's namespace (query results carry events too).
pub const NS_QUERY_1: &str = "urn:epcglobal:epcis-query:xsd:1";
/// The EPCIS 2.0 query interface's namespace.
pub const NS_QUERY_2: &str = "urn:epcglobal:epcis-query:xsd:2";

/// Whether an XML element in namespace `ns` belongs to an EPCIS binding (a document or a
/// query result, 1.x or 2.0): the elements the standard defines, as opposed to a sender's
/// extensions.
pub(crate) fn is_epcis_namespace(ns: Option<&str>) -> bool {
    matches!(ns, Some(NS_EPCIS_1 | NS_EPCIS_2 | NS_QUERY_1 | NS_QUERY_2))
}

/// Which CBV (or GS1 web vocabulary) term list a field's bare words come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vocabulary {
    BizStep,
    Disposition,
    BizTransactionType,
    SourceDestinationType,
    ErrorReason,
    SensorMeasurementType,
    SensorAlarm,
    SensorComponent,
}

impl Vocabulary {
    /// The URI prefix a bare word of this vocabulary expands under.
    pub fn prefix(self) -> &'static str {
        match self {
            Vocabulary::BizStep => "https://ref.gs1.org/cbv/BizStep-",
            Vocabulary::Disposition => "https://ref.gs1.org/cbv/Disp-",
            Vocabulary::BizTransactionType => "https://ref.gs1.org/cbv/BTT-",
            Vocabulary::SourceDestinationType => "https://ref.gs1.org/cbv/SDT-",
            Vocabulary::ErrorReason => "https://ref.gs1.org/cbv/ER-",
            Vocabulary::SensorMeasurementType | Vocabulary::SensorAlarm => GS1_VOC,
            Vocabulary::SensorComponent => "https://ref.gs1.org/cbv/Comp-",
        }
    }

    /// The legacy EPCglobal URN prefix of this vocabulary, where one exists.
    pub fn legacy_urn_prefix(self) -> Option<&'static str> {
        match self {
            Vocabulary::BizStep => Some("urn:epcglobal:cbv:bizstep:"),
            Vocabulary::Disposition => Some("urn:epcglobal:cbv:disp:"),
            Vocabulary::BizTransactionType => Some("urn:epcglobal:cbv:btt:"),
            Vocabulary::SourceDestinationType => Some("urn:epcglobal:cbv:sdt:"),
            Vocabulary::ErrorReason => Some("urn:epcglobal:cbv:er:"),
            _ => None,
        }
    }

    /// The bare words of this vocabulary.
    pub fn words(self) -> &'static [&'static str] {
        match self {
            Vocabulary::BizStep => BIZ_STEPS,
            Vocabulary::Disposition => DISPOSITIONS,
            Vocabulary::BizTransactionType => BIZ_TRANSACTION_TYPES,
            Vocabulary::SourceDestinationType => SOURCE_DESTINATION_TYPES,
            Vocabulary::ErrorReason => ERROR_REASONS,
            Vocabulary::SensorMeasurementType => MEASUREMENT_TYPES,
            Vocabulary::SensorAlarm => SENSOR_ALARMS,
            Vocabulary::SensorComponent => COMPONENTS,
        }
    }

    /// The full URI of a bare word, if the word belongs to this vocabulary.
    pub fn expand(self, word: &str) -> Option<String> {
        self.words()
            .contains(&word)
            .then(|| format!("{}{word}", self.prefix()))
    }

    /// The bare word behind any spelling of a term of this vocabulary: the bare word itself,
    /// a `cbv:`/`gs1:` CURIE, the web URI, or the legacy `urn:epcglobal:cbv:` URN. Anything else
    /// (a private vocabulary URI, say) is returned unchanged.
    pub fn bare_word(self, value: &str) -> String {
        let v = value.trim();
        let web = self.prefix();
        let curie = web
            .strip_prefix(CBV)
            .map(|local| format!("cbv:{local}"))
            .unwrap_or_else(|| "gs1:".to_owned());
        let candidates = [
            Some(web.to_owned()),
            Some(curie),
            self.legacy_urn_prefix().map(str::to_owned),
        ];
        for prefix in candidates.into_iter().flatten() {
            if let Some(word) = v.strip_prefix(prefix.as_str()) {
                return word.to_owned();
            }
        }
        v.to_owned()
    }
}

pub(crate) const BIZ_STEPS: &[&str] = &[
    "accepting",
    "arriving",
    "assembling",
    "collecting",
    "commissioning",
    "consigning",
    "creating_class_instance",
    "cycle_counting",
    "decommissioning",
    "departing",
    "destroying",
    "disassembling",
    "dispensing",
    "encoding",
    "entering_exiting",
    "holding",
    "inspecting",
    "installing",
    "killing",
    "loading",
    "other",
    "packing",
    "picking",
    "receiving",
    "removing",
    "repackaging",
    "repairing",
    "replacing",
    "reserving",
    "retail_selling",
    "sampling",
    "sensor_reporting",
    "shipping",
    "staging_outbound",
    "stock_taking",
    "stocking",
    "storing",
    "transporting",
    "unloading",
    "unpacking",
    "void_shipping",
];

pub(crate) const DISPOSITIONS: &[&str] = &[
    "active",
    "available",
    "completeness_verified",
    "completeness_inferred",
    "conformant",
    "container_closed",
    "container_open",
    "damaged",
    "destroyed",
    "dispensed",
    "disposed",
    "encoded",
    "expired",
    "in_progress",
    "in_transit",
    "inactive",
    "mismatch_instance",
    "mismatch_class",
    "mismatch_quantity",
    "needs_replacement",
    "no_pedigree_match",
    "non_conformant",
    "non_sellable_other",
    "partially_dispensed",
    "recalled",
    "reserved",
    "retail_sold",
    "returned",
    "sellable_accessible",
    "sellable_not_accessible",
    "stolen",
    "unavailable",
    "unknown",
];

pub(crate) const BIZ_TRANSACTION_TYPES: &[&str] = &[
    "bol",
    "cert",
    "desadv",
    "inv",
    "pedigree",
    "po",
    "poc",
    "prodorder",
    "recadv",
    "rma",
    "testprd",
    "testres",
    "upevt",
];

pub(crate) const SOURCE_DESTINATION_TYPES: &[&str] =
    &["owning_party", "possessing_party", "location"];

pub(crate) const ERROR_REASONS: &[&str] = &["did_not_occur", "incorrect_data"];

pub(crate) const SENSOR_ALARMS: &[&str] = &["ALARM_CONDITION", "ERROR_CONDITION"];

pub(crate) const COMPONENTS: &[&str] = &[
    "x",
    "y",
    "z",
    "axial_distance",
    "azimuth",
    "height",
    "spherical_radius",
    "polar_angle",
    "elevation_angle",
    "easting",
    "northing",
    "latitude",
    "longitude",
    "altitude",
];

pub(crate) const MEASUREMENT_TYPES: &[&str] = &[
    "AbsoluteHumidity",
    "AbsorbedDose",
    "AbsorbedDoseRate",
    "Acceleration",
    "Radioactivity",
    "Altitude",
    "AmountOfSubstance",
    "AmountOfSubstancePerUnitVolume",
    "Angle",
    "AngularAcceleration",
    "AngularMomentum",
    "AngularVelocity",
    "Area",
    "Capacitance",
    "Conductance",
    "Conductivity",
    "Count",
    "Density",
    "Dimensionless",
    "DoseEquivalent",
    "DoseEquivalentRate",
    "DynamicViscosity",
    "ElectricCharge",
    "ElectricCurrent",
    "ElectricCurrentDensity",
    "ElectricFieldStrength",
    "Energy",
    "Exposure",
    "Force",
    "Frequency",
    "Illuminance",
    "Inductance",
    "Irradiance",
    "KinematicViscosity",
    "Length",
    "LinearMomentum",
    "Luminance",
    "LuminousFlux",
    "LuminousIntensity",
    "MagneticFlux",
    "MagneticFluxDensity",
    "MagneticVectorPotential",
    "Mass",
    "MassConcentration",
    "MassFlowRate",
    "MassPerAreaTime",
    "MemoryCapacity",
    "MolalityOfSolute",
    "MolarEnergy",
    "MolarMass",
    "MolarVolume",
    "Power",
    "Pressure",
    "RadiantFlux",
    "RadiantIntensity",
    "RelativeHumidity",
    "Resistance",
    "Resistivity",
    "SolidAngle",
    "SpecificVolume",
    "Speed",
    "SurfaceDensity",
    "SurfaceTension",
    "Temperature",
    "Time",
    "Torque",
    "Voltage",
    "Volume",
    "VolumeFlowRate",
    "VolumeFraction",
    "VolumetricFlux",
    "Wavenumber",
];

#[cfg(test)]
mod tests {
    use super::Vocabulary;

    #[test]
    fn every_spelling_gives_the_bare_word() {
        for spelling in [
            "receiving",
            "cbv:BizStep-receiving",
            "https://ref.gs1.org/cbv/BizStep-receiving",
            "urn:epcglobal:cbv:bizstep:receiving",
        ] {
            assert_eq!(Vocabulary::BizStep.bare_word(spelling), "receiving");
        }
        assert_eq!(
            Vocabulary::Disposition.bare_word("urn:epcglobal:cbv:disp:recalled"),
            "recalled"
        );
        assert_eq!(
            Vocabulary::BizStep.bare_word("http://example.com/steps/picking"),
            "http://example.com/steps/picking"
        );
        assert_eq!(
            Vocabulary::BizStep.expand("receiving").as_deref(),
            Some("https://ref.gs1.org/cbv/BizStep-receiving")
        );
        assert_eq!(Vocabulary::BizStep.expand("dancing"), None);
    }
}
