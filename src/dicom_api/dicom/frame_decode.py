"""Pixel Data located from its element header, and one compressed frame decoded to native bytes, for WADO-RS
frames asked for as application/octet-stream (PS3.18 8.7.3.5.2, Table 8.7.3-5).
"""

from __future__ import annotations

import struct
import warnings

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID

from dicom_api.dicom.codestreams import repair_sequential_scans
from dicom_api.dicom.frames import available_decoder, check_codestream, geometry, syntax_name
from dicom_api.dicom.inspect import PixelDataInfo
from dicom_api.dicom.limits import DEFAULT_LIMITS, DicomLimits
from dicom_api.dicom.media_types import EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, frame_syntax
from dicom_api.errors import CannotTranscode, UndecodableImage

_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT"})  # PS3.5 7.1.2
_JPEG_DCT = frozenset(f"1.2.840.10008.1.2.4.{n}" for n in (50, 51))


def pixel_element(head: bytes, offset: int, syntax: str, tag: int, stored_length: int) -> PixelDataInfo:
    """The Pixel Data element whose first bytes (``head``, 12 of them) start at ``offset`` in a little endian
    file (PS3.5 7.1.2-7.1.3); ``stored_length`` the bytes of its value as stored (an encapsulated one's items
    and delimiter, which its header does not give). UndecodableImage when they are not that element's header."""
    if len(head) < 12 or struct.unpack("<HH", head[:4]) != (tag >> 16, tag & 0xFFFF):
        raise UndecodableImage("The stored Pixel Data element cannot be found.")
    if syntax == IMPLICIT_VR_LITTLE_ENDIAN:
        vr, (length,), start = "OW", struct.unpack("<I", head[4:8]), 8
    elif head[4:6] in _LONG_VRS:
        vr, (length,), start = head[4:6].decode("ascii"), struct.unpack("<I", head[8:12]), 12
    else:
        raise UndecodableImage("The stored Pixel Data element has a VR it cannot have.")
    undefined = length == 0xFFFFFFFF
    return PixelDataInfo(tag, vr, offset, offset + start, stored_length if undefined else length, undefined)


def decode_frame(data: bytes, header: Dataset, syntax: str, limits: DicomLimits = DEFAULT_LIMITS) -> bytes:
    """One encapsulated frame's codestream (PS3.5 A.4) decoded to native little endian bytes, as an Explicit VR
    Little Endian frame holds them (PS3.5 8.1.1); colour as RGB, samples interleaved. The codestream is checked
    against the header and ``limits`` before a decoder sees it. CannotTranscode (406) when it cannot be decoded."""
    if frame_syntax(syntax) == EXPLICIT_VR_LITTLE_ENDIAN:
        return data
    decoder = available_decoder(syntax, "frame")
    found = geometry(header, limits)
    check_codestream(syntax, data, found, limits)
    view = Dataset()
    view.update({tag: header[tag] for tag in header.keys() if int(tag) >> 16 == 0x0028 and tag != 0x00280008})
    view.NumberOfFrames = 1
    view.file_meta = FileMetaDataset()
    view.file_meta.TransferSyntaxUID = UID(syntax)
    view.set_original_encoding(False, True)
    view.PixelData = encapsulate([repair_sequential_scans(data) if syntax in _JPEG_DCT else data])
    view["PixelData"].VR = "OB"
    try:
        with warnings.catch_warnings():  # a decoder's warnings may quote values
            warnings.simplefilter("ignore")
            arr = np.asarray(decoder.as_array(view, index=0)[0])
    except Exception:  # noqa: BLE001 - a decoder's message may quote values
        raise CannotTranscode(f"The frame fails to decode ({syntax_name(syntax)}).") from None
    return arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
