// Reading the DICOM JSON Model (PS3.18 F.2) that QIDO-RS and the attributes route answer.

export function value(item, tag) {
  const element = item && item[tag];
  if (!element || !element.Value || !element.Value.length) return '';
  const first = element.Value[0];
  if (element.vr === 'PN') return first && first.Alphabetic ? first.Alphabetic.replaceAll('^', ' ').trim() : '';
  return first;
}

export function values(item, tag) {
  const element = item && item[tag];
  return element && element.Value ? element.Value : [];
}

// YYYYMMDD -> YYYY-MM-DD, for reading
export function date(text) {
  return /^\d{8}$/.test(text) ? `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6)}` : text;
}

export const TAG = {
  StudyDate: '00080020', AccessionNumber: '00080050', Modality: '00080060', ModalitiesInStudy: '00080061',
  StudyDescription: '00081030', SeriesDescription: '0008103E', PatientName: '00100010', PatientID: '00100020',
  StudyInstanceUID: '0020000D', SeriesInstanceUID: '0020000E', SOPInstanceUID: '00080018', SeriesNumber: '00200011',
  InstanceNumber: '00200013', NumberOfFrames: '00280008', Rows: '00280010', Columns: '00280011',
  SeriesInstances: '00201209', StudySeries: '00201206', StudyInstances: '00201208', WindowCenter: '00281050',
  WindowWidth: '00281051', BitsStored: '00280101', PixelRepresentation: '00280103', RescaleSlope: '00281053',
  RescaleIntercept: '00281052', PhotometricInterpretation: '00280004',
};

export const path = (...uids) => uids.map(encodeURIComponent).join('/');
