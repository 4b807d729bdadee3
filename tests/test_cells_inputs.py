"""tme.cells readers (QuPath, HALO, inForm), phenotype map, compartments, manifest: layouts and every bad input."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from tme.cells import (
    CompartmentMap,
    PhenotypeMap,
    exports_in_directory,
    read_annotation_areas,
    read_cell_export,
    read_manifest,
    read_region_table,
)
from tme.errors import TmeInputError, TmeInputWarning

QUPATH = (
    "Image\tName\tClass\tParent\tROI\tCentroid X µm\tCentroid Y µm\n"
    "s.tif\t\tCD8\tTumor\tPolygon\t10.5\t20\n"
    "s.tif\t\tCD68: IL1B\tAnnotation (Stroma)\tPolygon\t30\t40.25\n"
    "s.tif\t\t\tStroma\tPolygon\t50\t60\n"
)
HALO = (
    "Image Location,Object Id,XMin,XMax,YMin,YMax,CD8 (Opal 570) Positive Classification,"
    "CD8 (Opal 570) Positive Nucleus Classification,CD68 (Opal 620) Positive Classification,"
    "IL1B Positive Classification,Classifier Label\n"
    "a.qptiff,0,10,20,30,50,1,1,0,0,Tumor\n"
    "a.qptiff,1,0,4,0,2,0,0,1,1,Stroma\n"
)
INFORM = (
    "Path\tSample Name\tTissue Category\tPhenotype\tCell ID\tCell X Position\tCell Y Position\t"
    "Entire Cell Area (pixels)\n"
    "C:\\x\tb.im3\ttumor\tCD8+\t1\t100\t200\t240\n"
    "C:\\x\tb.im3\tstroma\tOther\t2\t#N/A\t4\t240\n"
)
MAP = {
    "CD8+ T": {"labels": ["CD8+"], "markers": {"CD8": "+"}},
    "IL-1β+ macrophage": {"CD68": "+", "IL1B": "+"},
    "CD68+ TAM": {"CD68": "+", "IL1B": "-"},
    "other": "*",
}


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def error(excinfo) -> str:
    return str(excinfo.value)


# --- layouts ----------------------------------------------------------------------------------------


def test_qupath_export_in_micrometres(tmp_path):
    export = read_cell_export(write(tmp_path, "a.tsv", QUPATH))
    assert export.software == "qupath" and export.label_column == "Class"
    assert export.x.tolist() == [10.5, 30.0, 50.0] and export.y.tolist() == [20.0, 40.25, 60.0]
    assert export.regions.tolist() == ["Tumor", "Annotation (Stroma)", "Stroma"]
    types = PhenotypeMap.from_config(MAP).assign(export)
    assert [MAP_TYPES[t] for t in types] == ["CD8+ T", "IL-1β+ macrophage", "other"]


MAP_TYPES = list(MAP)


def test_qupath_pixels_need_a_pixel_size_and_classification_column(tmp_path):
    text = QUPATH.replace("Centroid X µm", "Centroid X px").replace("Centroid Y µm", "Centroid Y px")
    text = text.replace("\tClass\t", "\tClassification\t")
    path = write(tmp_path, "a.txt", text)
    with pytest.raises(TmeInputError) as excinfo:
        read_cell_export(path)
    assert "no pixel size" in error(excinfo) and "line 1" in error(excinfo) and "Centroid X px" in error(excinfo)
    assert "pixel_size_um" in error(excinfo)
    export = read_cell_export(path, pixel_size_um=0.25)
    assert export.x.tolist() == [2.625, 7.5, 12.5] and export.label_column == "Classification"


def test_micro_sign_variants_and_gzip_crlf_bom(tmp_path):
    text = "\ufeff" + QUPATH.replace("µm", "um").replace("\n", "\r\n")
    path = tmp_path / "a.csv.gz"
    path.write_bytes(gzip.compress(text.replace("\t", ",").encode()))
    export = read_cell_export(path)
    assert export.x.tolist() == [10.5, 30.0, 50.0]
    assert read_cell_export(write(tmp_path, "b.tsv", QUPATH.replace("µm", "μm"))).y[1] == 40.25  # Greek mu


def test_halo_object_data(tmp_path):
    export = read_cell_export(write(tmp_path, "h.csv", HALO), pixel_size_um=0.5)
    assert export.software == "halo" and export.labels is None
    assert export.x.tolist() == [7.5, 1.0] and export.y.tolist() == [20.0, 0.5]  # box centres × 0.5 µm
    assert list(export.markers.columns) == ["CD8 (Opal 570)", "CD68 (Opal 620)", "IL1B"]  # nucleus calls skipped
    types = PhenotypeMap.from_config(MAP).assign(export)
    assert [MAP_TYPES[t] for t in types] == ["CD8+ T", "IL-1β+ macrophage"]  # 'CD68' matches 'CD68 (Opal 620)'


def test_halo_needs_a_pixel_size_unless_declared_um(tmp_path):
    path = write(tmp_path, "h.csv", HALO)
    with pytest.raises(TmeInputError, match="pixels but no pixel size"):
        read_cell_export(path)
    assert read_cell_export(path, coordinate_unit="um").x.tolist() == [15.0, 2.0]


def test_inform_pixels_microns_and_missing_coordinates(tmp_path):
    path = write(tmp_path, "b_cell_seg_data.txt", INFORM)
    with pytest.raises(TmeInputError) as excinfo:
        read_cell_export(path, pixel_size_um=0.5)
    assert "line 3" in error(excinfo) and "'Cell Y Position'" not in error(excinfo)
    assert "column 'Cell X Position'" in error(excinfo) and "missing" in error(excinfo)
    fixed = write(tmp_path, "c_cell_seg_data.txt", INFORM.replace("#N/A", "3"))
    export = read_cell_export(fixed, pixel_size_um=0.5)
    assert export.software == "inform" and export.x.tolist() == [50.0, 1.5]
    microns = write(tmp_path, "d.txt", INFORM.replace("#N/A", "3").replace("(pixels)", "(square microns)"))
    with pytest.warns(TmeInputWarning, match="already in µm"):
        assert read_cell_export(microns, pixel_size_um=0.5).x.tolist() == [100.0, 3.0]


def test_inform_per_marker_phenotype_columns(tmp_path):
    text = (
        "Tissue Category\tPhenotype CD8\tPhenotype CD68\tCell X Position\tCell Y Position\tArea (microns)\n"
        "Tumor\tCD8+\tCD68-\t1\t2\t3\nStroma\tCD8-\tCD68+\t4\t5\t6\n"
    )
    export = read_cell_export(write(tmp_path, "e.txt", text))
    assert export.markers.to_dict("list") == {"CD8": [True, False], "CD68": [False, True]}
    rules = PhenotypeMap.from_config({"CD8+ T": {"CD8": "+"}, "TAM": {"CD68": "+"}})
    assert rules.assign(export).tolist() == [0, 1]
    bad = write(tmp_path, "f.txt", text.replace("CD68+\t4", "maybe\t4"))
    with pytest.raises(TmeInputError, match="line 3.*Phenotype CD68"):
        read_cell_export(bad)


def test_detection_errors(tmp_path):
    both = write(tmp_path, "x.csv", "XMin,XMax,YMin,YMax,Cell X Position,Cell Y Position\n1,2,3,4,5,6\n")
    with pytest.raises(TmeInputError, match="several .*halo, inform.*cells.software"):
        read_cell_export(both)
    none = write(tmp_path, "y.csv", "x,y\n1,2\n")
    with pytest.raises(TmeInputError, match="no known per-cell export"):
        read_cell_export(none)
    with pytest.raises(TmeInputError, match="does not exist"):
        read_cell_export(tmp_path / "absent.csv")
    header_only = write(tmp_path, "h.tsv", QUPATH.split("\n")[0] + "\n")
    with pytest.raises(TmeInputError, match="line 2: the cell export has a header but no cells"):
        read_cell_export(header_only)
    with pytest.raises(TmeInputError, match="unknown software"):
        read_cell_export(write(tmp_path, "z.tsv", QUPATH), software="cellprofiler")


def test_non_numeric_coordinate_names_line_and_column(tmp_path):
    path = write(tmp_path, "a.tsv", QUPATH.replace("\t50\t60", "\t50\t6O"))
    with pytest.raises(TmeInputError) as excinfo:
        read_cell_export(path)
    text = error(excinfo)
    assert "line 4" in text and "column 'Centroid Y µm'" in text and "'6O', not a number" in text and "Fix:" in text


def test_missing_region_column_and_no_phenotype(tmp_path):
    path = write(tmp_path, "a.tsv", QUPATH.replace("Parent", "Parents"))
    with pytest.raises(TmeInputError, match="region column 'Parent' is missing.*cells.region_column"):
        read_cell_export(path)
    assert read_cell_export(path, region_column="Parents").regions.iloc[0] == "Tumor"
    halo = write(tmp_path, "h.csv", "XMin,XMax,YMin,YMax,Classifier Label\n1,2,3,4,Tumor\n")
    with pytest.raises(TmeInputError, match="no phenotype"):
        read_cell_export(halo, coordinate_unit="um")


def test_not_utf8_header(tmp_path):
    path = write(tmp_path, "a.tsv", QUPATH, encoding="latin-1")
    with pytest.raises(TmeInputError, match="not UTF-8"):
        read_cell_export(path)


# --- phenotype map ----------------------------------------------------------------------------------


def test_phenotype_not_in_the_map_names_row_and_labels(tmp_path):
    export = read_cell_export(write(tmp_path, "b.txt", INFORM.replace("#N/A", "3")), pixel_size_um=0.5)
    rules = PhenotypeMap.from_config({"CD8+ T": "CD8+"})
    with pytest.raises(TmeInputError) as excinfo:
        rules.assign(export)
    text = error(excinfo)
    assert "Phenotype 'Other'" in text and "line 3" in text and "column 'Phenotype'" in text
    assert "'Other' (1 cells)" in text and "cells.phenotypes" in text


def test_ambiguous_and_invalid_rules(tmp_path):
    export = read_cell_export(write(tmp_path, "a.tsv", QUPATH))
    rules = PhenotypeMap.from_config({"T": {"CD8": "+"}, "CD8 again": "CD8", "other": "*"})
    with pytest.raises(TmeInputError, match="line 2.*several cell types \\(T, CD8 again\\)"):
        rules.assign(export)
    with pytest.raises(TmeInputError, match="not '\\+' or '-'"):
        PhenotypeMap.from_config({"T": {"CD8": "yes"}})
    with pytest.raises(TmeInputError, match="more than one cell type takes the rest"):
        PhenotypeMap.from_config({"a": "*", "b": "*"})
    with pytest.raises(TmeInputError, match="is not a label"):
        PhenotypeMap.from_config({"a": 3})


def test_marker_missing_from_export(tmp_path):
    export = read_cell_export(write(tmp_path, "h.csv", HALO), pixel_size_um=0.5)
    with pytest.raises(TmeInputError, match="marker 'FOXP3'.*CD8 \\(Opal 570\\), CD68 \\(Opal 620\\), IL1B"):
        PhenotypeMap.from_config({"Treg": {"FOXP3": "+"}, "other": "*"}).assign(export)


# --- compartments and areas -------------------------------------------------------------------------


def test_compartments_default_and_outside_every_region(tmp_path):
    compartments = CompartmentMap()
    labels = pd.Series(["Tumor", "Annotation (Stroma)", "tumour", "STROMA"])
    assert compartments.codes(labels, file="f", column="Parent").tolist() == [0, 1, 0, 1]
    export = read_cell_export(
        write(tmp_path, "a.tsv", QUPATH.replace("\tStroma\tPolygon\t50", "\tRoot object (Image)\tPolygon\t50"))
    )
    with pytest.raises(TmeInputError) as excinfo:
        compartments.codes(export.regions, file=export.path, column=export.region_column)
    text = error(excinfo)
    assert "outside every annotated region" in text and "line 4" in text and "column 'Parent'" in text
    with pytest.raises(TmeInputError, match="region 'Necrosis', which maps to no compartment"):
        compartments.codes(pd.Series(["Tumor", "Necrosis"]), file="f", column="Tissue Category")
    custom = CompartmentMap({"tumour": ["Tumor"], "stroma": ["Stroma"], "exclude": ["Necrosis", "Background"]})
    assert custom.codes(pd.Series(["Necrosis", "Tumor"]), file="f", column="c").tolist() == [-1, 0]
    with pytest.raises(TmeInputError, match="two compartments"):
        CompartmentMap({"tumour": ["X"], "stroma": ["x"]})


def test_region_table(tmp_path):
    path = write(
        tmp_path,
        "regions.tsv",
        "sample_id\tregion\tarea_mm2\nS1\tTumor\t0.4\nS1\tStroma\t0.5\nS1\tNecrosis\t0.1\nS2\ttumor\t1.5\n",
    )
    compartments = CompartmentMap({"tumour": ["Tumor"], "stroma": ["Stroma"], "exclude": ["Necrosis"]})
    table = read_region_table(path, compartments, pd.Series(["S1", "S2"]))
    assert table.to_dict("list") == {
        "sample_id": ["S1", "S1", "S2"],
        "compartment": ["stroma", "tumour", "tumour"],
        "area_mm2": [0.5, 0.4, 1.5],
    }
    um2 = write(tmp_path, "r2.tsv", "sample_id\tregion\tarea_um2\nS1\tTumor\t250000\n")
    assert read_region_table(um2, compartments)["area_mm2"].tolist() == [0.25]


@pytest.mark.parametrize(
    "row, match",
    [
        ("S1\tTumor\t0", "line 3, column 'area_mm2': region has area 0"),
        ("S1\tTumor\tabc", "line 3, column 'area_mm2': area 'abc' is not a number"),
        ("S9\tTumor\t1", "line 3, column 'sample_id': sample_id 'S9' is not in the sample sheet"),
        ("S1\tStroma\t1", "line 3, column 'region': sample 'S1' lists region 'Stroma' twice"),
        ("S1\tFat\t1", "line 3, column 'region': cell is in region 'Fat'"),
    ],
)
def test_region_table_errors(tmp_path, row, match):
    path = write(tmp_path, "regions.tsv", f"sample_id\tregion\tarea_mm2\nS1\tStroma\t0.5\n{row}\n")
    with pytest.raises(TmeInputError, match=match):
        read_region_table(path, CompartmentMap(), pd.Series(["S1"]))


def test_qupath_annotation_areas(tmp_path):
    text = (
        "Image\tName\tClass\tParent\tROI\tArea µm^2\n"
        "s\tTumor\tTumor\tRoot object (Image)\tPolygon\t400000\n"
        "s\t\tStroma\tRoot object (Image)\tPolygon\t100000\n"
        "s\tnest 2\tTumor\tRoot object (Image)\tPolygon\t50000\n"
    )
    compartments = CompartmentMap({"tumour": ["Tumor", "nest 2"], "stroma": ["Stroma"]})
    table = read_annotation_areas(write(tmp_path, "ann.tsv", text), compartments, "S1")
    assert table["compartment"].tolist() == ["stroma", "tumour"]
    assert table["area_mm2"].tolist() == pytest.approx([0.1, 0.45], abs=1e-12)
    px = write(tmp_path, "px.tsv", text.replace("Area µm^2", "Area px^2"))
    with pytest.raises(TmeInputError, match="no annotation area"):
        read_annotation_areas(px, compartments, "S1")
    assert read_annotation_areas(px, compartments, "S1", pixel_size_um=0.5)["area_mm2"].tolist() == pytest.approx(
        [0.025, 0.1125], abs=1e-12
    )


# --- manifest and directory -------------------------------------------------------------------------


def test_manifest_two_exports_for_one_biopsy(tmp_path):
    path = write(tmp_path, "manifest.tsv", "sample_id\tfile\nS1\ta.csv\nS2\tb.csv\nS1\tc.csv\n")
    with pytest.raises(TmeInputError) as excinfo:
        read_manifest(path, ["S1", "S2"])
    text = error(excinfo)
    assert "biopsy 'S1' has two exports" in text and "line 4" in text and "column 'sample_id'" in text


def test_manifest_sample_not_in_sheet_and_columns(tmp_path):
    path = write(tmp_path, "manifest.tsv", "sample_id\tfile\tpixel_size_um\nS1\ta.csv\t0.5\nS3\tb.csv\t\n")
    for name in ("a.csv", "b.csv"):
        write(tmp_path, name, "")
    with pytest.raises(
        TmeInputError, match="line 3, column 'sample_id': export .*b.csv is for biopsy 'S3', which is not"
    ):
        read_manifest(path, ["S1", "S2"])
    table = read_manifest(path, ["S1", "S3"])
    assert table["file"].tolist() == [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    assert table["pixel_size_um"].iloc[0] == 0.5 and np.isnan(table["pixel_size_um"].iloc[1])
    bad = write(tmp_path, "m2.tsv", "sample_id\tfile\tpixel\nS1\ta.csv\t1\n")
    with pytest.raises(TmeInputError, match="column 'pixel' not allowed"):
        read_manifest(bad, ["S1"])
    zero = write(tmp_path, "m3.tsv", "sample_id\tfile\tpixel_size_um\nS1\ta.csv\t0\n")
    with pytest.raises(TmeInputError, match="line 2, column 'pixel_size_um'"):
        read_manifest(zero, ["S1"])


def test_directory_of_exports(tmp_path):
    for name in ("S1.csv", "S2_cell_seg_data.txt", "notes.md"):
        (tmp_path / name).write_text("x")
    table = exports_in_directory(tmp_path, ["S1", "S2"])
    assert table["sample_id"].tolist() == ["S1", "S2"]
    (tmp_path / "S1_cell_seg_data.txt").write_text("x")
    with pytest.raises(TmeInputError, match="biopsy 'S1' has two exports"):
        exports_in_directory(tmp_path, ["S1", "S2"])
    (tmp_path / "S1_cell_seg_data.txt").unlink()
    with pytest.raises(
        TmeInputError, match="S2_cell_seg_data.txt is for biopsy 'S2', which is not in the sample sheet"
    ):
        exports_in_directory(tmp_path, ["S1"])


def test_one_slide_per_export(tmp_path):
    two_images = QUPATH.replace("s.tif\t\t\tStroma", "t.tif\t\t\tStroma")
    with pytest.raises(TmeInputError, match="line 4, column 'Image': the export holds 2 images"):
        read_cell_export(write(tmp_path, "a.tsv", two_images))
    fields = INFORM.replace("#N/A", "3").replace("C:\\x\tb.im3\tstroma", "C:\\x\tb2.im3\tstroma")
    with pytest.raises(TmeInputError, match="2 fields with field-relative pixel positions"):
        read_cell_export(write(tmp_path, "b.txt", fields), pixel_size_um=0.5)
    slide_coordinates = write(tmp_path, "c.txt", fields.replace("(pixels)", "(square microns)"))
    assert len(read_cell_export(slide_coordinates)) == 2  # fields of one slide in slide coordinates (µm)


def test_cells_config_rejects_unknown_keys():
    from tme.cells import CellSettings

    with pytest.raises(TmeInputError, match="unknown key cells.radius\\b.*radius_um"):
        CellSettings.from_config({"phenotypes": {"T": "CD8"}, "radius": 20})
    settings = CellSettings.from_config(
        {
            "phenotypes": {"T": "CD8"},
            "manifest": "m.tsv",
            "regions": "r.tsv",
            "radius_um": 15,
            "edge_correction": "border",
            "ratios": [["T", "T"]],
        }
    )
    assert settings.plan.radius_um == 15 and settings.plan.edge_correction == ("border",)
    assert settings.plan.ratios == (("T", "T"),)
