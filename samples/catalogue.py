"""Catalogue of the ATLAS Open Data 2020 "4lep" samples of the 'How much Higgs?' notebook.

Cross-sections, sums of weights and reduction efficiencies are the numbers of the notebook's
``infofile`` helper (ATLAS Open Data, 13 TeV release of 2020). Data are 2016 periods A–D,
10 fb⁻¹ in total.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from hzx.errors import UnknownSampleError

Role = Literal["signal", "background", "data"]

#: Integrated luminosity of the 2020 release, in fb⁻¹ (the notebook's ``lumi = 10``).
LUMI_FB = 10.0

#: Integrated luminosity of each 2016 data period, fb⁻¹ (the release's notebooks: A 0.5,
#: B 1.9, C 2.9, D 4.7; 10 in all).
PERIOD_LUMI_FB: dict[str, float] = {"data_A": 0.5, "data_B": 1.9, "data_C": 2.9, "data_D": 4.7}


def lumi_of(datasets) -> float:
    """Luminosity (fb⁻¹) of a set of data periods (``data_A`` …); an unknown name is an error."""
    unknown = [d for d in datasets if d not in PERIOD_LUMI_FB]
    if unknown:
        raise UnknownSampleError(f"no luminosity known for {unknown}; periods: "
                                 f"{', '.join(PERIOD_LUMI_FB)}")
    return round(sum(PERIOD_LUMI_FB[d] for d in datasets), 6)


#: Public locations of the files (``<prefix>/MC/<file>`` and ``<prefix>/Data/<file>``).
HTTPS_PREFIX = "https://atlas-opendata.web.cern.ch/atlas-opendata/samples/2020/4lep"
XROOTD_PREFIX = "root://eospublic.cern.ch//eos/opendata/atlas/OutreachDatasets/2020-01-22/4lep"

TREENAME = "mini"


@dataclasses.dataclass(frozen=True)
class Sample:
    """One sample of the catalogue.

    Attributes
    ----------
    name : str
        Dataset name used in filesets and outputs (``ggH125_ZZ4lep``, ``data_A`` …).
    role : {"signal", "background", "data"}
    filename : str
        File name in the release (``mc_345060.ggH125_ZZ4lep.4lep.root``).
    dsid : int or None
        ATLAS dataset id (None for data).
    xsec_pb : float or None
        Cross-section times filter efficiency, in pb.
    sumw : float or None
        Sum of generator weights of the full (unskimmed) sample.
    red_eff : float or None
        Reduction efficiency of the skim (1 for these samples).
    """

    name: str
    role: Role
    filename: str
    dsid: int | None = None
    xsec_pb: float | None = None
    sumw: float | None = None
    red_eff: float | None = None

    @property
    def is_data(self) -> bool:
        return self.role == "data"

    @property
    def subdirectory(self) -> str:
        """``Data`` or ``MC``: the folder of the public release."""
        return "Data" if self.is_data else "MC"

    def fileset_metadata(self, lumi_fb: float = LUMI_FB) -> dict:
        """Dataset metadata a processor needs to weight this sample's events."""
        meta: dict = {"sample": self.name, "role": self.role}
        if not self.is_data:
            meta.update(dsid=self.dsid, xsec_pb=self.xsec_pb, sumw=self.sumw,
                        red_eff=self.red_eff, lumi_fb=lumi_fb)
        return meta


def _mc(name: str, dsid: int, role: Role, xsec_pb: float, sumw: float) -> Sample:
    return Sample(name=name, role=role, filename=f"mc_{dsid}.{name}.4lep.root", dsid=dsid,
                  xsec_pb=xsec_pb, sumw=sumw, red_eff=1.0)


#: The ten simulated samples of the notebook, then the four data periods.
SAMPLES: dict[str, Sample] = {
    s.name: s
    for s in (
        _mc("Zee", 361106, "background", 1950.5295, 150277594200.0),
        _mc("Zmumu", 361107, "background", 1950.6321, 147334691090.0),
        _mc("ttbar_lep", 410000, "background", 452.693559, 49386600.0),
        _mc("llll", 363490, "background", 1.2578, 7538705.8077),
        _mc("llvv", 363492, "background", 12.466, 5039259.9696),
        _mc("ZqqZll", 363356, "background", 2.20355112, 3439266.11559),
        _mc("ggH125_ZZ4lep", 345060, "signal", 0.0060239, 27881776.6536),
        _mc("WH125_ZZ4lep", 341964, "signal", 0.0003769, 149400.0),
        _mc("VBFH125_ZZ4lep", 344235, "signal", 0.0004633012, 3680490.83243),
        _mc("ZH125_ZZ4lep", 341947, "signal", 0.0000021424784, 150000.0),
        *(Sample(name=f"data_{p}", role="data", filename=f"data_{p}.4lep.root") for p in "ABCD"),
    )
}


def get_sample(name: str) -> Sample:
    """The catalogue entry ``name``; an unknown name is an error listing the known ones."""
    try:
        return SAMPLES[name]
    except KeyError:
        raise UnknownSampleError(
            f"unknown sample {name!r}; the catalogue has: {', '.join(SAMPLES)}"
        ) from None


def samples_with_role(role: Role) -> list[Sample]:
    """All catalogue samples of one role, in catalogue order."""
    if role not in ("signal", "background", "data"):
        raise UnknownSampleError(f"unknown role {role!r}; use signal, background or data")
    return [s for s in SAMPLES.values() if s.role == role]
