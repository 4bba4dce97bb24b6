"""The demo practice's fixed facts and the word lists its fictional patients are drawn from.

Phone numbers are in the 555-0100..0199 range reserved for fiction; email domains are the
reserved example.com/.net/.org, so nothing here can reach a real person."""

from __future__ import annotations

from dataclasses import dataclass

PRACTICE = {
    "name": "Lakeside Family Dental",
    "phone": "+13125550100",
    "email": "hello@lakesidefamilydental.example",
    "website": "https://lakesidefamilydental.example",
    "timezone": "America/Chicago",
}

STAFF_DOMAIN = "demo.frontdesk.test"
STAFF_PASSWORD = "frontdesk-demo-2026"  # noqa: S105 (documented demo password)
# (email local part, role, display name); the README lists exactly these accounts.
STAFF = (
    ("admin", "admin", "Morgan Lee"),
    ("manager", "manager", "Patricia Nguyen"),
    ("frontdesk", "front_desk", "Lucía Fernández"),
    ("billing", "billing", "Tom Becker"),
    ("marketing", "marketing", "Jordan Price"),
)


@dataclass(frozen=True)
class Place:
    """A demo location and the neighbourhood its patients live in."""

    key: str
    name: str
    address_line: str
    city: str
    state: str
    postal_code: str
    phone: str
    timezone: str
    area_codes: tuple[str, ...]
    towns: tuple[tuple[str, str], ...]  # (city, ZIP)
    streets: tuple[str, ...]
    patient_share: float
    parking: dict[str, str]  # language -> the front desk's answer about parking


CHICAGO = Place(
    key="chicago", name="Lakeside — Chicago", address_line="2400 N Lincoln Ave, Suite 200",
    city="Chicago", state="IL", postal_code="60614", phone="+13125550142",
    timezone="America/Chicago",
    area_codes=("312", "773", "872", "630", "708", "847", "224", "331"),
    towns=(("Chicago", "60614"), ("Chicago", "60618"), ("Chicago", "60625"),
           ("Chicago", "60640"), ("Chicago", "60657"), ("Evanston", "60201"),
           ("Oak Park", "60302"), ("Skokie", "60076"), ("Berwyn", "60402"),
           ("Cicero", "60804")),
    streets=("N Clark St", "W Belmont Ave", "N Western Ave", "W Addison St", "N Damen Ave",
             "W Lawrence Ave", "N Kedzie Ave", "S Halsted St", "W Fullerton Ave",
             "N Milwaukee Ave", "Ridge Ave", "Oak Park Ave", "Harlem Ave", "Main St",
             "Elm St", "Maple Ave"),
    patient_share=0.6,
    parking={"en": "Yes! Metered street parking on Lincoln Ave, and a public garage on "
                   "Fullerton one block south.",
             "es": "¡Sí! Hay estacionamiento con parquímetro en Lincoln Ave y un garaje público "
                   "en Fullerton, a una cuadra al sur."},
)
DENVER = Place(
    key="denver", name="Lakeside — Denver", address_line="1550 Larimer St, Suite 310",
    city="Denver", state="CO", postal_code="80202", phone="+13035550187",
    timezone="America/Denver",
    area_codes=("303", "720", "983", "970", "719"),
    towns=(("Denver", "80203"), ("Denver", "80205"), ("Denver", "80210"),
           ("Denver", "80211"), ("Denver", "80219"), ("Aurora", "80012"),
           ("Lakewood", "80226"), ("Englewood", "80110"), ("Arvada", "80003"),
           ("Littleton", "80120")),
    streets=("E Colfax Ave", "S Broadway", "W 38th Ave", "Federal Blvd", "E Evans Ave",
             "S University Blvd", "W Alameda Ave", "Tennyson St", "E 17th Ave",
             "S Federal Blvd", "Wadsworth Blvd", "E Iliff Ave", "Pearl St", "York St"),
    patient_share=0.4,
    parking={"en": "Yes, the garage on Larimer St validates 2 hours. Bring your ticket to the "
                   "front desk.",
             "es": "Sí, el garaje de Larimer St valida 2 horas. Traiga su boleto a la "
                   "recepción."},
)
PLACES = (CHICAGO, DENVER)


@dataclass(frozen=True)
class ProviderSpec:
    given_name: str
    family_name: str
    prefix: str | None
    credentials: str
    npi: str | None
    hygienist: bool
    # weekday (0 = Monday) -> Place.key where the provider works that day
    schedule: dict[int, str]


_C, _D = CHICAGO.key, DENVER.key
PROVIDERS = (
    ProviderSpec("Emily", "Carter", "Dr.", "DDS", "1847293051", False,
                 {0: _C, 1: _C, 2: _C, 3: _C}),
    ProviderSpec("Miguel", "Álvarez", "Dr.", "DMD", "1620384713", False,
                 {0: _C, 1: _D, 2: _C, 3: _D, 4: _D}),
    ProviderSpec("Priya", "Natarajan", "Dr.", "DDS", "1374609521", False,
                 {0: _D, 1: _D, 3: _D, 4: _D}),
    ProviderSpec("James", "O'Connor", "Dr.", "DMD", "1958132767", False,
                 {1: _C, 2: _C, 3: _C, 4: _C}),
    ProviderSpec("Rachel", "Kim", None, "RDH", None, True,
                 {0: _C, 1: _C, 2: _C, 3: _C, 4: _C}),
    ProviderSpec("Dana", "Whitfield", None, "RDH", None, True,
                 {0: _D, 1: _D, 2: _D, 3: _D}),
)

# (name, Spanish name, minutes, for new patients, bookable online)
APPOINTMENT_TYPES = (
    ("Cleaning", "Limpieza", 60, False, True),
    ("Exam", "Revisión", 30, False, True),
    ("Filling", "Empaste", 60, False, True),
    ("New patient visit", "Primera visita", 90, True, True),
    ("Emergency visit", "Visita de urgencia", 30, False, False),
)
# The appointment types each role offers, with their relative weights on that role's
# calendar: a provider is booked only for a type they offer (hygienists: cleanings).
HYGIENIST_MIX = {"Cleaning": 100}
DENTIST_MIX = {"Exam": 43, "Filling": 38, "New patient visit": 11, "Emergency visit": 8}

ENGLISH_FEMALE = (
    "Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Charlotte", "Amelia", "Harper",
    "Evelyn", "Abigail", "Emily", "Elizabeth", "Sofia", "Madison", "Avery", "Ella", "Grace",
    "Chloe", "Victoria", "Riley", "Aria", "Lily", "Hannah", "Nora", "Zoey", "Layla", "Brooklyn",
    "Jennifer", "Linda", "Patricia", "Susan", "Karen", "Nancy", "Margaret", "Dorothy", "Sarah",
    "Jessica", "Ashley", "Michelle", "Amanda", "Melissa", "Rebecca", "Laura", "Megan", "Aisha",
    "Mei", "Priya", "Fatima", "Keisha",
)
ENGLISH_MALE = (
    "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry",
    "Alexander", "Mason", "Michael", "Ethan", "Daniel", "Jacob", "Logan", "Jackson", "Levi",
    "Sebastian", "Mateo", "Jack", "Owen", "Theodore", "Aiden", "Samuel", "Joseph", "John",
    "David", "Wyatt", "Matthew", "Robert", "Richard", "Thomas", "Charles", "Christopher",
    "Mark", "Steven", "Paul", "Andrew", "Kevin", "Brian", "George", "Ronald", "Jamal", "Darnell",
    "Wei", "Raj", "Omar", "Tyrone", "Kenji",
)
ENGLISH_FAMILY = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
    "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark",
    "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green",
    "Adams", "Nelson", "Baker", "Hall", "Campbell", "Mitchell", "Carter", "Roberts", "Phillips",
    "Evans", "Turner", "Parker", "Collins", "Edwards", "Stewart", "Morris", "Murphy", "Cook",
    "Rogers", "Morgan", "Peterson", "Cooper", "Reed", "Bailey", "Bell", "Kelly", "Howard",
    "Ward", "Cox", "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray", "James",
    "Hughes", "Price", "Sanders", "Myers", "Long", "Ross", "Foster", "Powell", "Jenkins",
    "Perry", "Russell", "Sullivan", "Fisher", "Henderson", "Coleman", "Patterson", "Jordan",
    "Kowalski", "Nowak", "Schmidt", "O'Brien", "McCarthy", "Nguyen", "Patel", "Chen", "Kim",
    "Shah", "Ali", "Okafor", "Johansson", "Olsen", "Rossi", "Bianchi", "Lee", "Wang", "Singh",
)
SPANISH_FEMALE = (
    "María", "Guadalupe", "Sofía", "Valentina", "Camila", "Lucía", "Ximena", "Daniela",
    "Mariana", "Gabriela", "Fernanda", "Isabel", "Ana", "Rosa", "Carmen", "Verónica", "Alejandra",
    "Paola", "Leticia", "Yesenia", "Claudia", "Elena", "Juana", "Beatriz", "Natalia",
    "Esperanza", "Marisol", "Adriana", "Luz", "Rocío",
)
SPANISH_MALE = (
    "José", "Juan", "Luis", "Carlos", "Jorge", "Miguel", "Alejandro", "Andrés", "Diego",
    "Santiago", "Mateo", "Sebastián", "Javier", "Francisco", "Ricardo", "Fernando", "Eduardo",
    "Raúl", "Héctor", "Manuel", "Rafael", "Óscar", "Jesús", "Emiliano", "Ramón", "Arturo",
    "Pedro", "Joaquín", "Iván", "Tomás",
)
SPANISH_FAMILY = (
    "García", "Hernández", "López", "Martínez", "Rodríguez", "González", "Pérez", "Sánchez",
    "Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Reyes", "Morales", "Cruz",
    "Ortiz", "Gutiérrez", "Chávez", "Ramos", "Ruiz", "Mendoza", "Vargas", "Castillo",
    "Jiménez", "Moreno", "Romero", "Herrera", "Medina", "Aguilar", "Vásquez", "Castro",
    "Delgado", "Salazar", "Núñez", "Ibarra", "Ochoa", "Zamora", "Estrada",
)
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")

WEEKDAYS = {"en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
            "es": ("lun", "mar", "mié", "jue", "vie", "sáb", "dom")}
MONTHS = {"en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                 "Dec"),
          "es": ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov",
                 "dic")}
