"""The pictures: generator output as sample grids, and the plots of the curves."""
