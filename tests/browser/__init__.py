"""Tests in a real browser (JupyterLab + Chromium); a package so its conftest has its own name."""
