"""cityimage: how a city's image travels on overseas social media, measured weekly."""

__version__ = "0.1.0"
