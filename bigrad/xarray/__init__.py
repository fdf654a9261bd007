"""The xarray front end: the ``.bigrad`` accessor, dimension names and coordinates turned
into axes and spacings, and the names, units and attributes of the results."""
